"""Third-party integrations (one package per provider)."""
