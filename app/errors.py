"""Error handlers: plain pages for browsers, JSON under /api/, never a stack trace."""
from __future__ import annotations

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _answer(status: int, title: str, message: str) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify({"error": title.lower().replace(" ", "_"), "message": message}), status
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    """Install the 4xx/5xx, CSRF and unauthorized handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Response | str, int]:
        return _answer(400, "CSRF check failed", "The form expired or lacks its security token. "
                       "Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int, dict[str, str]]:
        # Keep the exception's own headers (Retry-After on 429, Allow on 405), not its body's type.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return (*_answer(error.code or 500, error.name, error.description or ""), headers)

    @app.errorhandler(DBAPIError)
    def database_unavailable(error: DBAPIError) -> tuple[Response | str, int, dict[str, str]]:
        # The database is down or restarting: a retryable 503, not a bug (no traceback in the log).
        app.logger.error("database error on %s %s: %s", request.method, request.path, type(error.orig).__name__)
        return (*_answer(503, "Service Unavailable", "The database is not reachable right now. Try again shortly."),
                {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response | str, int]:
        app.logger.exception("unhandled %s on %s %s", type(error).__name__, request.method, request.path)
        return _answer(500, InternalServerError.name, "Something went wrong on our side.")

    from app import login_manager

    @login_manager.unauthorized_handler
    def unauthorized() -> Response | tuple[Response, int]:
        if _wants_json():
            return jsonify({"error": "unauthorized", "message": "Sign in first."}), 401
        return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))
