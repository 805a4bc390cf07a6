"""WSGI entry point (`gunicorn wsgi:app`) and the `flask` CLI's app (`flask basecamp ...`)."""
import sys

from app import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    print(f"configuration error: {exc}", file=sys.stderr)
    sys.exit(2)
