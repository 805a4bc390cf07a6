"""`GET /healthz`: database reachability and integration counts; `GET /livez`: liveness. No sign-in, never a secret."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.events.emit import file_write_failures
from app.integrations.basecamp.service import service

bp = Blueprint("health", __name__)


@bp.get("/livez")
def livez() -> Response:
    """Liveness only (no database): the process answers."""
    return jsonify({"status": "ok"})


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    svc = service()
    try:
        svc.db.execute(text("SELECT 1"))
        counts = svc.counts()
    except SQLAlchemyError:
        svc.db.rollback()
        return jsonify({"status": "error", "database": "error", "integrations": None,
                        "event_log": _event_log()}), 503
    return jsonify({"status": "ok", "database": "ok",
                    "integrations": {"connected": counts["connected"], "expired": counts["expired"]},
                    "event_log": _event_log()}), 200


def _event_log() -> dict[str, int]:
    """FR-016 lines this process could not write to EVENT_LOG (e.g. a full disk); stdout still has them."""
    return {"write_failures": file_write_failures()}
