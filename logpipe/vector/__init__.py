"""Vector pipeline config (vector.yaml, fr016.vrl) and its Python twin (remap.py)."""
