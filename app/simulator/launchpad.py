"""Launchpad's OAuth 2 endpoints: the authorize page, the token endpoint, authorization.json."""
from __future__ import annotations

import hmac
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, jsonify, redirect, render_template, request

from .pipeline import (ViewResult, html_error, json_error, simulated, simulator_state,
                       token_grant, token_param)
from .state import AccessToken, GrantError, Identity, iso

bp = Blueprint("launchpad", __name__)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")


def _redirect_with(redirect_uri: str, params: dict[str, str]) -> Response:
    """302 to the client's redirect URI with `params` added to its query string."""
    parts = urlsplit(redirect_uri)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return redirect(urlunsplit(parts._replace(query=query)), code=302)


def _authorize_problem(values: dict[str, str], check_type: bool) -> tuple[str, str] | None:
    """Why an authorize request is unacceptable, as (outcome, message), or None."""
    settings = simulator_state().settings()
    if check_type and values.get("response_type") != "code" and values.get("type") != "web_server":
        return "400 unsupported_response_type", "Use response_type=code (or the legacy type=web_server)."
    if not hmac.compare_digest(values.get("client_id", ""), settings["client_id"]):
        return "400 invalid_client", "This application is not registered with Launchpad (unknown client_id)."
    target = urlsplit(values.get("redirect_uri", ""))
    if target.scheme not in ("http", "https") or not target.netloc:
        return "400 invalid_request", "redirect_uri must be an absolute http(s) URL."
    return None


def _authorize_page(values: dict[str, str], email: str, error: str | None, status: int) -> Response:
    page = render_template("authorize.html", app_name=simulator_state().settings()["app_name"],
                           email=email, error=error, client_id=values.get("client_id", ""),
                           redirect_uri=values.get("redirect_uri", ""), state=values.get("state", ""))
    return Response(page, status=status, mimetype="text/html")


@bp.get("/authorization/new")
@simulated("authorize", html=True)
def authorize_page() -> ViewResult:
    values = request.args.to_dict()
    problem = _authorize_problem(values, check_type=True)
    if problem:
        return html_error(400, "Cannot authorize", problem[1]), problem[0]
    return _authorize_page(values, simulator_state().suggest_email(), None, 200), "page"


@bp.post("/authorization/new")
@simulated("authorize", html=True)
def authorize_decision() -> ViewResult:
    values = request.form.to_dict()
    problem = _authorize_problem(values, check_type=False)
    if problem:
        return html_error(400, "Cannot authorize", problem[1]), problem[0]
    state_param = {"state": values["state"]} if values.get("state") else {}
    decision = values.get("decision")
    if decision == "deny":
        return _redirect_with(values["redirect_uri"], {"error": "access_denied", **state_param}), "deny"
    if decision != "approve":
        return html_error(400, "Cannot authorize", "Choose Approve or Deny."), "400 invalid_request"
    email = values.get("email", "").strip()
    if not _EMAIL.match(email):
        return _authorize_page(values, email, "Enter an email address like name@example.com.", 400), \
            "400 invalid_email"
    code = simulator_state().approve(email, values["client_id"], values["redirect_uri"])
    return _redirect_with(values["redirect_uri"], {"code": code, **state_param}), "approve"


def _token_json(answer: dict[str, Any]) -> Response:
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/authorization/token")
@simulated("token")
def token() -> ViewResult:
    grant = token_grant()
    label = grant or "unsupported"
    if grant is None:
        return json_error(400, "unsupported_grant_type",
                          "grant_type must be authorization_code or refresh_token "
                          "(legacy type=web_server or type=refresh)."), f"{label} 400 unsupported_grant_type"
    settings = simulator_state().settings()
    if not (hmac.compare_digest(token_param("client_id"), settings["client_id"])
            and hmac.compare_digest(token_param("client_secret"), settings["client_secret"])):
        return json_error(401, "invalid_client", "Unknown client or wrong client secret."), \
            f"{label} 401 invalid_client"
    try:
        if grant == "authorization_code":
            if not token_param("code") or not token_param("redirect_uri"):
                return json_error(400, "invalid_request", "code and redirect_uri are required."), \
                    f"{label} 400 invalid_request"
            answer = simulator_state().exchange_code(token_param("code"), token_param("client_id"),
                                                     token_param("redirect_uri"))
        else:
            if not token_param("refresh_token"):
                return json_error(400, "invalid_request", "refresh_token is required."), \
                    f"{label} 400 invalid_request"
            answer = simulator_state().refresh(token_param("refresh_token"))
    except GrantError as refused:
        return json_error(400, refused.error, "The grant is invalid, expired, used or revoked."), \
            f"{label} 400 {refused.error}"
    return _token_json(answer), f"{label} 200"


def bearer() -> tuple[Identity, AccessToken] | None:
    """The identity and token behind the request's `Authorization: Bearer` header, if live."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return simulator_state().authenticate(token.strip())


def unauthorized() -> Response:
    """401 for a missing, unknown, expired or invalidated access token."""
    response = json_error(401, "invalid_token", "The access token is missing, unknown or expired.")
    response.headers["WWW-Authenticate"] = 'Bearer realm="Basecamp simulator"'
    return response


@bp.get("/authorization.json")
@simulated("identity")
def authorization() -> ViewResult:
    found = bearer()
    if found is None:
        return unauthorized(), "401"
    identity, access = found
    root = request.url_root.rstrip("/")
    return jsonify({
        "expires_at": iso(access.expires_at),
        "identity": {"id": identity.id, "first_name": identity.first_name,
                     "last_name": identity.last_name, "email_address": identity.email},
        "accounts": [{"product": a.product, "id": a.id, "name": a.name,
                      "href": f"{root}/{a.id}", "app_href": f"{root}/{a.id}"} for a in identity.accounts],
    }), "200"
