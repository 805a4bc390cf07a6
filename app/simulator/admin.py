"""Admin endpoints under /_admin (JSON, loopback clients only): reset, settings,
faults, identity events, counts and the refresh-token report.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from flask import Blueprint, Response, jsonify, request

from .faults import FaultError, parse_rules
from .pipeline import json_error, simulator_state
from .settings import SettingsError, validate_settings

bp = Blueprint("sim_admin", __name__, url_prefix="/_admin")


class BadBody(ValueError):
    """A request body that is not the JSON the endpoint wants."""


@bp.before_request
def loopback_only() -> Response | None:
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    return None if loopback else json_error(403, "forbidden", "The admin API answers loopback clients only.")


@bp.errorhandler(BadBody)
@bp.errorhandler(SettingsError)
@bp.errorhandler(FaultError)
def bad_body(error: ValueError) -> Response:
    return json_error(400, "invalid_request", str(error))


def _body(default: Any) -> Any:
    """The JSON body, `default` when there is none; BadBody when it is not JSON."""
    if not request.get_data():
        return default
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise BadBody("the request body must be JSON")
    return body


@bp.post("/reset")
def reset() -> Response:
    """Back to the settings and faults the app started with, then apply optional setting overrides."""
    state = simulator_state()
    settings, faults = state.initial
    settings.update(validate_settings(_body({})))
    state.reset_to(settings, faults)
    return jsonify({"settings": state.settings(), "faults": state.faults()})


@bp.route("/config", methods=["GET", "POST"])
def config() -> Response:
    state = simulator_state()
    if request.method == "GET":
        return jsonify(state.settings())
    changes = validate_settings(_body(None))
    return jsonify(state.update_settings(changes))


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    """GET lists rules with what they fired; POST appends rules; DELETE removes all."""
    state = simulator_state()
    if request.method == "POST":
        return jsonify(state.add_faults(parse_rules(_body(None))))
    if request.method == "DELETE":
        state.clear_faults()
    return jsonify(state.faults())


@bp.post("/identities/<path:email>/password-change")
def password_change(email: str) -> Response:
    if not simulator_state().change_password(email):
        return json_error(404, "not_found", f"no identity {email!r}")
    return jsonify({"identity": email.strip().lower(), "tokens": "invalidated"})


@bp.post("/identities/<path:email>/expire-access-token")
def expire_access_token(email: str) -> Response:
    if not simulator_state().expire_access_tokens(email):
        return json_error(404, "not_found", f"no identity {email!r}")
    return jsonify({"identity": email.strip().lower(), "access_tokens": "expired"})


@bp.get("/counts")
def counts() -> Response:
    return jsonify(simulator_state().counts())


@bp.get("/tokens")
def tokens() -> Response:
    return jsonify({"refresh_tokens": simulator_state().refresh_token_report()})


@bp.get("/secrets")
def issued_secrets() -> Response:
    """The raw codes and tokens issued since the last reset, so a test can scan logs for them."""
    return jsonify(simulator_state().issued_secrets())
