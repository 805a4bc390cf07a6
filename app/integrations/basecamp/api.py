"""JSON API: connection status and disconnect (CSRF via the X-CSRFToken header).

State-changing views check CSRF themselves, after the sign-in check, so an anonymous call
gets 401 rather than 400.
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import csrf
from app.integrations.basecamp.service import service

api_bp = Blueprint("basecamp_api", __name__, url_prefix="/api/integrations/basecamp")


@api_bp.get("/status/")
@login_required
def status() -> Response:
    # The user loader read the connection's (id, version) in its query this request.
    return jsonify(service().status(current_user.id, key=current_user.basecamp_key))


@api_bp.post("/disconnect")
@csrf.exempt
@login_required
def disconnect() -> Response:
    """Drop our copy of the tokens; `disconnected` is false when there was nothing to drop."""
    csrf.protect()
    dropped = service().disconnect(current_user.id) is not None
    return jsonify({"provider": "basecamp", "state": "disconnected", "disconnected": dropped})
