"""Our own users: sign up, sign in (session rotated), sign out."""
from app.auth.views import bp, load_user

__all__ = ["bp", "load_user"]
