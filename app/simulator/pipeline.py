"""What every protocol request goes through: User-Agent check, per-IP rate limit,
fault rules, the view, and the count of what was really answered.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, jsonify, render_template, request

from .faults import FaultRule
from .state import SimulatorState

ViewResult = tuple[Response, str]

# What a malformed_json fault sends: a 200 whose JSON stops mid-value.
_TRUNCATED = {
    "token": '{"access_token": "3f9a',  # nosec B105 - a truncated fault body, not a credential
    "identity": '{"expires_at": "2026-01-0',
    "api": '[{"id": 2000001, "name": "Proj',
}


def simulator_state() -> SimulatorState:
    """The state of the simulator app handling this request."""
    return current_app.extensions["basecamp_simulator"]


def json_error(status: int, error: str, description: str) -> Response:
    """A JSON error answer `{"error", "error_description"}`."""
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return response


def html_error(status: int, title: str, message: str) -> Response:
    """A plain HTML error page (never a stack trace)."""
    return Response(render_template("error.html", status=status, title=title, message=message),
                    status=status, mimetype="text/html")


def error_answer(html: bool, status: int, error: str, message: str) -> Response:
    """An error in the endpoint's own format."""
    return html_error(status, error.replace("_", " ").capitalize(), message) if html \
        else json_error(status, error, message)


def _drop_connection() -> Response:
    """Close the client's socket without answering (werkzeug and gunicorn servers)."""
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if sock is None:
        return json_error(500, "connection_reset_unsupported",
                          "this server gives the simulator no socket to drop")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client has already gone
    # The server's write of this empty answer fails quietly on the closed socket.
    return Response(b"", status=500)


def _fault_answer(state: SimulatorState, rule: FaultRule, endpoint: str, html: bool) -> Response:
    """Answer (or not) as the fault says, and count it."""
    if rule.kind == "rate_limit":
        response = error_answer(html, 429, "rate_limited", "Too many requests (injected fault).")
        response.headers["Retry-After"] = str(rule.retry_after)
        outcome = "429"
    elif rule.kind == "server_error":
        response = error_answer(html, rule.status, "server_error", "Injected server error.")
        outcome = str(rule.status)
    elif rule.kind == "invalid_grant":
        response = json_error(400, "invalid_grant", "Injected invalid_grant.")
        outcome = f"{token_grant() or 'unsupported'} 400 invalid_grant"
    elif rule.kind == "malformed_json":
        response = Response(_TRUNCATED[endpoint], status=200, mimetype="application/json")
        outcome = "malformed_json"
    else:  # connection_reset, timeout: counted first, as the client sees nothing
        state.count(endpoint, rule.kind)
        if rule.kind == "timeout":
            time.sleep(rule.latency_ms / 1000)
        return _drop_connection()
    state.count(endpoint, outcome)
    return response


def token_param(name: str) -> str:
    """A token-endpoint parameter: form body first, query string as Launchpad also accepts."""
    return (request.form.get(name) or request.args.get(name) or "").strip()


_GRANT_ALIASES = {"authorization_code": "authorization_code", "web_server": "authorization_code",
                  "refresh_token": "refresh_token", "refresh": "refresh_token"}  # nosec B105 - grant type names


def token_grant() -> str | None:
    """The grant of a token request in either style (`grant_type=` or legacy `type=`)."""
    return _GRANT_ALIASES.get(token_param("grant_type") or token_param("type"))


def simulated(endpoint: str, html: bool = False) -> Callable[[Callable[..., ViewResult]], Callable[..., Any]]:
    """Wrap a view returning `(response, outcome)` in the shared request pipeline."""

    def decorate(view: Callable[..., ViewResult]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = simulator_state()
            if not request.headers.get("User-Agent", "").strip():
                state.count(endpoint, "400 missing_user_agent")
                return error_answer(html, 400, "user_agent_required",
                                    "Every request needs a User-Agent header, e.g. 'MyApp (me@example.com)'.")
            retry_after = state.admit(request.remote_addr or "unknown")
            if retry_after is not None:
                state.count(endpoint, "429")
                response = error_answer(html, 429, "rate_limited",
                                        f"Rate limit exceeded; retry after {retry_after} s.")
                response.headers["Retry-After"] = str(retry_after)
                return response
            decision = state.decide_faults(endpoint, token_grant() if endpoint == "token" else None)
            if decision.delay_s:
                time.sleep(decision.delay_s)
            if decision.rule is not None:
                return _fault_answer(state, decision.rule, endpoint, html)
            try:
                response, outcome = view(*args, **kwargs)
            except Exception:
                current_app.logger.exception("simulator %s view failed", endpoint)
                state.count(endpoint, "500 internal_error")
                return error_answer(html, 500, "internal_error", "The simulator failed on this request.")
            state.count(endpoint, outcome)
            return response

        return wrapper

    return decorate
