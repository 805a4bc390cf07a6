"""Basecamp 4 (bc3) through 37signals Launchpad OAuth 2: connect, status, refresh, disconnect."""
from app.integrations.basecamp.api import api_bp
from app.integrations.basecamp.views import bp

__all__ = ["api_bp", "bp"]
