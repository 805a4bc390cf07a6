"""A Basecamp (37signals Launchpad + bc3 API) simulator for tests and local runs.

Same paths as the real services, so a client only swaps base URLs:

- `GET|POST /authorization/new`  authorize page (Approve / Deny)      endpoint `authorize`
- `POST /authorization/token`    code and refresh grants, both styles  endpoint `token`
- `GET /authorization.json`      identity and accounts                 endpoint `identity`
- `GET /<account_id>/projects.json`  an account's projects             endpoint `api`

Every protocol request: no User-Agent -> 400; per-IP sliding-window limit
(`rate_limit_per_10s`, 0 = off) -> 429 + Retry-After; then the fault rules; then the view.

Admin API (JSON, loopback only), see `admin.py`: `POST /_admin/reset` (optional JSON
body = setting overrides; back to the start-up settings and faults, state and counts
cleared, RNG re-seeded), `GET|POST /_admin/config`, `GET|POST|DELETE /_admin/faults`
(POST appends rules), `POST /_admin/identities/<email>/password-change`,
`POST /_admin/identities/<email>/expire-access-token`, `GET /_admin/counts`,
`GET /_admin/tokens` (refresh tokens by SHA-256, with their refresh grants and times),
`GET /_admin/secrets` (the raw codes and tokens issued since the last reset, for secret scans).

`GET /_admin/counts` -> `{"token": {...}, "identity": {...}, "api": {...}, "authorize": {...}}`,
each mapping an outcome key to how many times it happened. Outcome keys:

- token, protocol answers: `"<grant> <status>"` on success, `"<grant> <status> <error>"` on
  refusal, grant being `authorization_code`, `refresh_token` or `unsupported`
  (either parameter style is normalised), e.g. `"authorization_code 200"`,
  `"refresh_token 400 invalid_grant"`, `"refresh_token 400 authorization_expired"`,
  `"authorization_code 401 invalid_client"`, `"refresh_token 400 invalid_request"`,
  `"unsupported 400 unsupported_grant_type"`. An injected invalid_grant counts the same way.
- identity and api: `"200"`, `"401"`, and for api `"404"`.
- authorize: `"page"` (form shown), `"approve"`, `"deny"`, `"400 invalid_client"`,
  `"400 invalid_request"`, `"400 unsupported_response_type"`, `"400 invalid_email"`.
- every endpoint: `"400 missing_user_agent"`; `"429"` (per-IP limit or injected);
  `"<5xx status>"` (injected server_error); `"malformed_json"` (a 200 with a truncated
  body); `"connection_reset"` and `"timeout"` (socket closed without an answer, counted
  when the fault is chosen, before a timeout's sleep); `"500 internal_error"` (a simulator
  bug). Latency faults add delay and count under the normal outcome.
Admin requests and unknown paths are not counted.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from . import admin, bc3, launchpad
from .faults import parse_rules
from .pipeline import html_error, json_error
from .settings import DEFAULTS, settings_from_env, validate_settings
from .state import SimulatorState

__all__ = ["create_simulator_app"]


def _wants_json() -> bool:
    path = request.path
    return path.endswith(".json") or path.startswith("/_admin") or path == "/authorization/token"


def create_simulator_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the simulator. `config` holds settings (see settings.DEFAULTS) and optionally
    `faults` (a list of fault rules); it wins over `SIMULATOR_*` environment variables.
    Raises ValueError on a bad setting or rule."""
    overrides = dict(config or {})
    env_settings, env_faults = settings_from_env()
    faults = overrides.pop("faults", env_faults)
    parse_rules(faults)  # fail at start-up, not at the first reset
    settings = {**DEFAULTS, **env_settings, **validate_settings(overrides)}

    app = Flask(__name__)
    app.extensions["basecamp_simulator"] = SimulatorState(settings, faults)
    app.register_blueprint(launchpad.bp)
    app.register_blueprint(bc3.bp)
    app.register_blueprint(admin.bp)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if _wants_json():
            return json_error(status, (error.name or "error").lower().replace(" ", "_"), error.description or "")
        return html_error(status, error.name or "Error", error.description or "")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        app.logger.exception("simulator failure")
        if _wants_json():
            return json_error(500, "internal_error", "The simulator failed on this request.")
        return html_error(500, "Internal error", "The simulator failed on this request.")

    return app
