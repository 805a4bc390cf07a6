"""Single-use OAuth `state` records, bound to the browser session, valid OAUTH_FLOW_TTL (10 minutes).

Our own table rather than Authlib's state-in-session, because the callback must tell
apart an unknown, replayed or foreign state (`invalid_state`) from a flow the session
lost or that aged out (`session_expired`), and single use must hold across processes.
Only the SHA-256 of the state is stored; the session holds a random binding value.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, session
from sqlalchemy import delete, select, update
from sqlalchemy.orm import scoped_session

from app.db import utcnow
from app.events import ErrorType
from app.models import OAuthFlow

BINDING_KEY = "bc_oauth_binding"


class FlowError(Exception):
    """A callback that cannot proceed; carries the error type and the flow when one was found."""

    def __init__(self, error_type: ErrorType, message: str, flow: OAuthFlow | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.flow = flow


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _binding(create: bool) -> str | None:
    value = session.get(BINDING_KEY)
    if value is None and create:
        value = session[BINDING_KEY] = secrets.token_urlsafe(24)
    return value


def start_flow(db: scoped_session, user_id: int) -> tuple[str, OAuthFlow]:
    """A new flow for `user_id` bound to this session; returns (state to send, flow)."""
    now = utcnow()
    db.execute(delete(OAuthFlow).where(OAuthFlow.created_at < now - dt.timedelta(days=1)))
    state = secrets.token_urlsafe(32)
    flow = OAuthFlow(state_hash=_sha256(state), user_id=user_id,
                     session_binding=_sha256(_binding(create=True) or ""), created_at=now)
    db.add(flow)
    db.commit()
    return state, flow


def check_flow(flow: OAuthFlow, user_id: int | None) -> None:
    """Raise FlowError unless `flow` belongs to this session and user and is younger than OAUTH_FLOW_TTL.

    Another user, or a session holding a different binding: invalid_state. No signed-in user or
    no binding in the session (cookie lost, signed in again): session_expired.
    """
    if user_id is not None and flow.user_id != user_id:
        raise FlowError(ErrorType.INVALID_STATE, "state was issued to another user's session", flow)
    binding = _binding(create=False)
    if binding is None or user_id is None:
        raise FlowError(ErrorType.SESSION_EXPIRED, "the browser session no longer holds this OAuth flow", flow)
    if _sha256(binding) != flow.session_binding:
        raise FlowError(ErrorType.INVALID_STATE, "state was issued to another session", flow)
    ttl_s = current_app.config["OAUTH_FLOW_TTL"]
    if utcnow() - flow.created_at > dt.timedelta(seconds=ttl_s):
        raise FlowError(ErrorType.SESSION_EXPIRED, f"the OAuth flow is older than {ttl_s:g} s", flow)


def claim_flow(db: scoped_session, state: str | None, user_id: int | None) -> OAuthFlow:
    """Validate the callback's `state` and mark its flow used (exactly once, also across processes)."""
    if not state:
        raise FlowError(ErrorType.INVALID_STATE, "callback without state")
    flow = db.scalar(select(OAuthFlow).where(OAuthFlow.state_hash == _sha256(state)))
    if flow is None:
        raise FlowError(ErrorType.INVALID_STATE, "unknown state")
    if flow.used_at is not None:
        raise FlowError(ErrorType.INVALID_STATE, "state already used (replayed callback)", flow)
    check_flow(flow, user_id)
    claimed = db.execute(update(OAuthFlow).where(OAuthFlow.id == flow.id, OAuthFlow.used_at.is_(None))
                         .values(used_at=utcnow()).execution_options(synchronize_session=False))
    db.commit()
    if claimed.rowcount != 1:
        raise FlowError(ErrorType.INVALID_STATE, "state already used (replayed callback)", flow)
    return flow


def flow_age_ms(flow: OAuthFlow | None) -> float | None:
    """Milliseconds since the flow's initiate, or None without a flow."""
    return None if flow is None else max(0.0, (utcnow() - flow.created_at).total_seconds() * 1000)
