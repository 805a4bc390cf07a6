"""HTML routes: the integration page, connect, callback, account chooser, disconnect."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.db import utcnow
from app.events import ErrorType, Event, Level, Status, emit
from app.integrations.basecamp.client import ApiError
from app.integrations.basecamp.flows import FlowError, check_flow, claim_flow, flow_age_ms, start_flow
from app.integrations.basecamp.refresh import token_fields
from app.integrations.basecamp.service import Account, AlreadyConnected, NotConnected, bc3_accounts, service
from app.models import CONNECTED, OAuthFlow
from app.security import check_connect

bp = Blueprint("basecamp", __name__, url_prefix="/integrations/basecamp")

CHOOSER_KEY = "bc_chooser_flow"
LAUNCHPAD_REVOKE_HINT = "https://launchpad.37signals.com (Your account, then the authorized apps list)"

# error_type -> (HTTP status, page title, what the person should do)
FAILURES: dict[ErrorType, tuple[int, str, str]] = {
    ErrorType.INVALID_STATE: (400, "This connection link is not valid",
                              "The answer from Basecamp did not match a connection you started here, "
                              "or it was already used. Start connecting again."),
    ErrorType.SESSION_EXPIRED: (400, "Your connection attempt expired",
                                "Connecting must finish within a few minutes, in the browser session that started it. "
                                "Sign in and start connecting again."),
    ErrorType.AUTHORIZATION_FAILED: (403, "Basecamp access was not granted",
                                     "You declined access on the Basecamp page, so nothing was connected. "
                                     "Connect again and choose Approve to link your account."),
    ErrorType.TOKEN_EXCHANGE_FAILED: (502, "Basecamp did not complete the connection",
                                      "We could not obtain access from Basecamp. Please try again in a minute."),
    ErrorType.NO_BASECAMP_ACCOUNT: (422, "No Basecamp account found",
                                    "That 37signals login has no Basecamp 4 account. "
                                    "Sign in to Basecamp with the login that has one, then connect again."),
    ErrorType.ACCOUNT_ALREADY_CONNECTED: (409, "This Basecamp account is already connected",
                                          "The Basecamp account is linked already. Disconnect it there first, "
                                          "or connect a different account."),
}


def _redirect_uri() -> str:
    return current_app.config["BASECAMP_REDIRECT_URI"] or url_for("basecamp.callback", _external=True)


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _fail(error_type: ErrorType, error: str, flow: OAuthFlow | None) -> tuple[str, int]:
    """Emit the failed `basecamp_oauth_connect` event and render the error page."""
    user_id = flow.user_id if flow is not None else _user_id()
    level = Level.WARNING if error_type is ErrorType.ACCOUNT_ALREADY_CONNECTED else Level.ERROR
    emit(Event.OAUTH_CONNECT, status=Status.FAILURE, level=level, user_id=user_id, duration_ms=flow_age_ms(flow),
         error=error, error_type=error_type,
         message=f"Basecamp OAuth callback exception | user_id={user_id} | error={error}")
    status, title, advice = FAILURES[error_type]
    return render_template("basecamp/oauth_error.html", error_type=error_type.value, title=title,
                           advice=advice), status


def _finish(flow: OAuthFlow, account: Account, tokens: dict[str, Any]) -> Response | tuple[str, int]:
    """Store the connection and emit the successful `basecamp_oauth_connect` event."""
    svc = service()
    try:
        svc.store(flow.user_id, account, tokens)
    except AlreadyConnected:
        return _fail(ErrorType.ACCOUNT_ALREADY_CONNECTED, f"Basecamp account {account.id} is already connected", flow)
    flow.pending_accounts = None
    flow.pending_tokens_enc = None
    flow.completed_at = utcnow()
    svc.db.add(flow)
    svc.db.commit()
    emit(Event.OAUTH_CONNECT, status=Status.SUCCESS, user_id=flow.user_id, account_id=account.id,
         duration_ms=flow_age_ms(flow),
         message=f"Basecamp OAuth connection successful | user_id={flow.user_id} | account_id={account.id}")
    flash(f"Connected to Basecamp account {account.name}.")
    return redirect(url_for("basecamp.page"))


@bp.get("/")
@login_required
def page() -> str:
    svc = service()
    conn = svc.connection(current_user.id)
    projects: list[dict[str, Any]] | None = None
    problem = None
    if conn is not None and conn.state == CONNECTED:
        try:
            projects = svc.projects(current_user.id)
        except NotConnected:
            problem = "Basecamp no longer accepts this connection. Please reconnect."
        except ApiError as exc:
            problem = f"Basecamp projects are unavailable right now ({exc.error_type.value})."
        conn = svc.connection(current_user.id)
    return render_template("basecamp/page.html", conn=conn, projects=projects, problem=problem,
                           revoke_hint=LAUNCHPAD_REVOKE_HINT)


@bp.get("/connect")
@login_required
def connect() -> Response:
    check_connect(current_user.id)  # 429 after CONNECT_RATE_LIMIT attempts
    svc = service()
    state, _flow = start_flow(svc.db, current_user.id)
    emit(Event.OAUTH_INITIATE, status=Status.SUCCESS, user_id=current_user.id,
         message=f"Basecamp OAuth connect initiated | user_id={current_user.id}")
    client = current_app.extensions["authlib.integrations.flask_client"].create_client("basecamp")
    return redirect(client.create_authorization_url(_redirect_uri(), state=state)["url"])


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    svc = service()
    try:
        flow = claim_flow(svc.db, request.args.get("state"), _user_id())
    except FlowError as exc:
        return _fail(exc.error_type, str(exc), exc.flow)
    if request.args.get("error"):
        reason = request.args["error"][:64]
        return _fail(ErrorType.AUTHORIZATION_FAILED, f"Launchpad answered error={reason}", flow)
    code = request.args.get("code")
    if not code:
        return _fail(ErrorType.AUTHORIZATION_FAILED, "Launchpad answered without an authorization code", flow)
    try:
        tokens = svc.client.exchange_code(code, _redirect_uri(), user_id=flow.user_id).data
        access, _refresh, _expires = token_fields(tokens)
        accounts = bc3_accounts(svc.client.identity(access, user_id=flow.user_id).data)
    except ApiError as exc:
        return _fail(ErrorType.TOKEN_EXCHANGE_FAILED, f"token exchange failed: {exc.error}", flow)
    except ValueError as exc:
        return _fail(ErrorType.TOKEN_EXCHANGE_FAILED, f"token exchange failed: {exc}", flow)
    if not accounts:
        return _fail(ErrorType.NO_BASECAMP_ACCOUNT, "the Launchpad identity has no Basecamp (bc3) account", flow)
    if len(accounts) == 1:
        return _finish(flow, accounts[0], tokens)
    flow.pending_accounts = [{"id": a.id, "name": a.name, "href": a.href} for a in accounts]
    flow.pending_tokens_enc = svc.cipher.encrypt(json.dumps(tokens))
    svc.db.add(flow)
    svc.db.commit()
    session[CHOOSER_KEY] = flow.id
    return redirect(url_for("basecamp.choose"))


def _chooser_flow() -> OAuthFlow:
    """The flow waiting for an account choice in this session; FlowError if there is none usable."""
    flow_id = session.get(CHOOSER_KEY)
    flow = service().db.get(OAuthFlow, flow_id) if isinstance(flow_id, int) else None
    if flow is None or flow.completed_at is not None or not flow.pending_tokens_enc:
        raise FlowError(ErrorType.SESSION_EXPIRED, "no account choice is pending in this session", flow)
    check_flow(flow, _user_id())
    return flow


@bp.route("/choose", methods=["GET", "POST"])
@login_required
def choose() -> Response | tuple[str, int] | str:
    try:
        flow = _chooser_flow()
    except FlowError as exc:
        session.pop(CHOOSER_KEY, None)
        return _fail(exc.error_type, str(exc), exc.flow)
    accounts = [Account(**a) for a in flow.pending_accounts or []]
    if request.method == "GET":
        return render_template("basecamp/choose.html", accounts=accounts)
    chosen = next((a for a in accounts if a.id == request.form.get("account_id")), None)
    if chosen is None:
        return render_template("basecamp/choose.html", accounts=accounts, error="Choose one of the accounts."), 400
    session.pop(CHOOSER_KEY, None)
    tokens = json.loads(service().cipher.decrypt(flow.pending_tokens_enc or ""))
    return _finish(flow, chosen, tokens)


@bp.post("/disconnect")
@login_required
def disconnect() -> Response:
    if service().disconnect(current_user.id) is not None:
        flash("Disconnected. Our copy of your Basecamp tokens is deleted. "
              f"To revoke this app's access entirely, visit {LAUNCHPAD_REVOKE_HINT}.")
    return redirect(url_for("basecamp.page"))
