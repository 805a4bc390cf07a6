"""The Basecamp integration's operations: store, use, check, refresh and drop a connection."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import scoped_session

from app.crypto import TokenCipher
from app.db import utcnow
from app.events import ErrorType, Event, Status, emit
from app.integrations.basecamp.client import ApiError, ApiResult, BasecampClient, RateLimiter
from app.integrations.basecamp.refresh import Refresher, RefreshOutcome, token_fields
from app.integrations.basecamp.status_cache import ConnectionKey, StatusCache
from app.models import CONNECTED, DISCONNECTED, EXPIRED, BasecampConnection, OAuthFlow

LEASE_WAIT_SECONDS = 15.0
_KEY_BY_USER = select(BasecampConnection.id, BasecampConnection.version).where(
    BasecampConnection.user_id == bindparam("uid"))


class AlreadyConnected(Exception):
    """The bc3 account is connected already (to another user, or live to this one)."""


class NotConnected(Exception):
    """The user has no usable connection (none, disconnected or expired)."""


@dataclass(frozen=True)
class Account:
    """A bc3 account from authorization.json."""

    id: str
    name: str
    href: str

    @classmethod
    def from_launchpad(cls, raw: dict[str, Any]) -> Account:
        return cls(str(raw["id"]), str(raw.get("name") or raw["id"]), str(raw["href"]).rstrip("/"))


def bc3_accounts(identity: Any) -> list[Account]:
    """The Basecamp (product bc3) accounts of an authorization.json answer; ValueError if malformed."""
    if not isinstance(identity, dict) or not isinstance(identity.get("accounts"), list):
        raise ValueError("authorization.json without an accounts list")
    try:
        return [Account.from_launchpad(a) for a in identity["accounts"]
                if isinstance(a, dict) and a.get("product") == "bc3"]
    except (KeyError, TypeError) as exc:
        raise ValueError("authorization.json with a malformed account") from exc


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


class BasecampService:
    """Everything the views and the CLI do with Basecamp connections."""

    def __init__(self, app: Flask, db: scoped_session) -> None:
        cfg = app.config
        self.db = db
        self._engine = app.extensions["db_engine"]
        self.cipher = TokenCipher(cfg["TOKEN_ENCRYPTION_KEYS"])
        self.client = BasecampClient(
            launchpad_url=cfg["BASECAMP_LAUNCHPAD_URL"], client_id=cfg["BASECAMP_CLIENT_ID"],
            client_secret=cfg["BASECAMP_CLIENT_SECRET"], user_agent=cfg["BASECAMP_USER_AGENT"],
            timeout=cfg["BASECAMP_TIMEOUT"], max_attempts=cfg["MAX_ATTEMPTS"],
            backoff_base=cfg["BASECAMP_BACKOFF_BASE"], backoff_max=cfg["BASECAMP_BACKOFF_MAX"],
            retry_after_max=cfg["BASECAMP_RETRY_AFTER_MAX"], limiter=RateLimiter(*cfg["BASECAMP_RATE_LIMIT"]),
        )
        self.refresher = Refresher(db, self.client, self.cipher)
        self.cache = StatusCache(cfg["STATUS_CACHE_TTL"])

    # ---- connections ---------------------------------------------------------------
    def connection(self, user_id: int) -> BasecampConnection | None:
        return self.db.scalar(select(BasecampConnection).where(BasecampConnection.user_id == user_id))

    def account_taken(self, user_id: int, account_id: str) -> bool:
        """True when `account_id` is connected to another user, or live-connected to this one."""
        row = self.db.scalar(select(BasecampConnection).where(BasecampConnection.account_id == account_id))
        return row is not None and (row.user_id != user_id or row.state == CONNECTED)

    def store(self, user_id: int, account: Account, tokens: dict[str, Any]) -> BasecampConnection:
        """Create or replace the user's connection; AlreadyConnected when the account is taken."""
        access, refresh, expires_in = token_fields(tokens)
        if self.account_taken(user_id, account.id):
            raise AlreadyConnected(account.id)
        now = utcnow()
        conn = self.connection(user_id)
        if conn is None:
            conn = BasecampConnection(user_id=user_id, version=1)
        else:
            conn.version = BasecampConnection.version + 1  # in SQL: composes with concurrent bumps
        conn.state = CONNECTED
        conn.account_id, conn.account_name, conn.href = account.id, account.name, account.href
        conn.access_token_enc = self.cipher.encrypt(access)
        conn.refresh_token_enc = self.cipher.encrypt(refresh) if refresh else None
        conn.expires_at = now + dt.timedelta(seconds=expires_in)
        conn.connected_at = now
        conn.last_refresh_at = conn.last_refresh_result = None
        conn.consecutive_failures = 0
        conn.refresh_lease_until = conn.refresh_lease_owner = None
        self.db.add(conn)
        try:
            self.db.commit()
        except IntegrityError:  # a concurrent connect of the same account won the unique index
            self.db.rollback()
            raise AlreadyConnected(account.id) from None
        self.cache.invalidate(user_id)
        return conn

    def disconnect(self, user_id: int) -> BasecampConnection | None:
        """Wipe the user's tokens (the row stays, state disconnected) and emit `basecamp_disconnect`."""
        conn = self.connection(user_id)
        if conn is None or conn.state == DISCONNECTED:
            return None
        account_id = conn.account_id
        conn.state = DISCONNECTED
        conn.account_id = conn.account_name = conn.href = None
        conn.access_token_enc = conn.refresh_token_enc = None
        conn.expires_at = None
        conn.version = BasecampConnection.version + 1  # in SQL: a refresh racing this one then updates nothing
        self.db.commit()
        self.cache.invalidate(user_id)
        emit(Event.DISCONNECT, status=Status.SUCCESS, user_id=user_id, account_id=account_id,
             message=f"Basecamp disconnected | user_id={user_id} | account_id={account_id}")
        return conn

    # ---- using the API -------------------------------------------------------------
    def _authorized(self, conn: BasecampConnection, call: Callable[[str], ApiResult]) -> ApiResult:
        """Run `call(access_token)`; on 401 refresh once (or use another process's refresh) and retry."""
        if conn.state != CONNECTED or not conn.access_token_enc:
            raise NotConnected()
        seen_version = conn.version
        try:
            return call(self.cipher.decrypt(conn.access_token_enc))
        except ApiError as exc:
            if exc.error_type is not ErrorType.UNAUTHORIZED:
                raise
        outcome = self.refresher.refresh(conn.id, seen_version=seen_version, wait=LEASE_WAIT_SECONDS)
        self.cache.invalidate(conn.user_id)
        fresh = self.db.get(BasecampConnection, conn.id, populate_existing=True)
        self.db.commit()
        if fresh is None or fresh.state != CONNECTED or not fresh.access_token_enc:
            raise NotConnected()
        if outcome in (RefreshOutcome.FAILED, RefreshOutcome.BUSY):
            raise ApiError(ErrorType.UNAUTHORIZED, "access token rejected and refresh failed", 401, 1)
        return call(self.cipher.decrypt(fresh.access_token_enc))

    def projects(self, user_id: int) -> list[dict[str, Any]]:
        """The user's Basecamp projects (`{href}/projects.json`)."""
        conn = self.connection(user_id)
        if conn is None:
            raise NotConnected()
        result = self._authorized(conn, lambda token: self.client.api_get(
            f"{conn.href}/projects.json", token, user_id=user_id, account_id=conn.account_id))
        if not isinstance(result.data, list):
            raise ApiError(ErrorType.INVALID_RESPONSE, "projects.json is not a list", result.http_status,
                           result.attempts)
        return [p for p in result.data if isinstance(p, dict)]

    # ---- status --------------------------------------------------------------------
    def _key(self, user_id: int) -> ConnectionKey:
        """(row id, version) of the user's connection: one indexed Core read, outside the ORM session."""
        with self._engine.connect() as conn:
            row = conn.execute(_KEY_BY_USER, {"uid": user_id}).first()
        return None if row is None else (row[0], row[1])

    def status(self, user_id: int, key: ConnectionKey | bool = False) -> dict[str, Any]:
        """The status JSON; served from the cache while the connection is unchanged; emits one status event.

        `key`: the connection's (id, version) when the caller read it this request (the user
        loader does), else it is read here.
        """
        started = time.perf_counter()
        if key is False:
            key = self._key(user_id)
        payload = self.cache.get(user_id, key)
        cache_hit = payload is not None
        if payload is None:
            payload, verified = self._live_status(user_id)
            if verified:
                self.cache.put(user_id, self._key(user_id), payload)
            self.db.commit()
        duration_ms = (time.perf_counter() - started) * 1000
        emit(Event.STATUS_CHECK, status=Status.SUCCESS, user_id=user_id, account_id=payload["account_id"],
             duration_ms=duration_ms, cache_hit=cache_hit,
             message=f"Integration status check | provider=basecamp | duration_ms={round(duration_ms)}")
        return {**payload, "cache_hit": cache_hit}

    def _live_status(self, user_id: int) -> tuple[dict[str, Any], bool]:
        """Probe authorization.json with the stored token (refreshing on 401); (payload, verified)."""
        conn = self.connection(user_id)
        verified = True
        if conn is not None and conn.state == CONNECTED:
            try:
                self._authorized(conn, lambda token: self.client.identity(
                    token, user_id=user_id, account_id=conn.account_id))
            except NotConnected:
                pass
            except ApiError:
                verified = False
            conn = self.db.get(BasecampConnection, conn.id, populate_existing=True)
        payload = {
            "provider": "basecamp",
            "state": DISCONNECTED if conn is None else conn.state,
            "account_id": None if conn is None else conn.account_id,
            "account_name": None if conn is None else conn.account_name,
            "expires_at": None if conn is None else _iso(conn.expires_at),
            "last_refresh_at": None if conn is None else _iso(conn.last_refresh_at),
            "last_refresh_result": None if conn is None else conn.last_refresh_result,
            "consecutive_failures": 0 if conn is None else conn.consecutive_failures,
            "verified": verified and conn is not None and conn.state == CONNECTED,
            "checked_at": _iso(utcnow()),
        }
        return payload, verified

    # ---- fleet operations (CLI, health) ---------------------------------------------
    def counts(self) -> dict[str, int]:
        """Connection counts by state over all rows."""
        rows = self.db.execute(select(BasecampConnection.state, func.count()).group_by(BasecampConnection.state))
        by_state = {state: n for state, n in rows}
        self.db.commit()
        return {"connected": by_state.get(CONNECTED, 0), "expired": by_state.get(EXPIRED, 0),
                "total": sum(by_state.values())}

    def health_snapshot(self) -> dict[str, int]:
        """Emit `basecamp_account_health` with the counts over all connections."""
        counts = self.counts()
        emit(Event.ACCOUNT_HEALTH, status=Status.SUCCESS, total_accounts=counts["total"],
             connected_accounts=counts["connected"], expired_accounts=counts["expired"],
             message=f"Basecamp account health | total_accounts={counts['total']}"
                     f" | connected_accounts={counts['connected']} | expired_accounts={counts['expired']}")
        return counts

    def refresh_due(self, margin_seconds: float) -> dict[str, int]:
        """Refresh every connected token expiring within the margin; returns outcome counts."""
        due_before = utcnow() + dt.timedelta(seconds=margin_seconds)
        ids = list(self.db.scalars(select(BasecampConnection.id).where(
            BasecampConnection.state == CONNECTED, BasecampConnection.refresh_token_enc.is_not(None),
            BasecampConnection.expires_at <= due_before).order_by(BasecampConnection.expires_at)))
        self.db.commit()
        summary = {outcome.value: 0 for outcome in RefreshOutcome}
        for conn_id in ids:
            summary[self.refresher.refresh(conn_id, due_before=due_before).value] += 1
        return summary

    def rotate_keys(self) -> int:
        """Re-encrypt every stored token (and pending chooser tokens) with the first key; returns rows changed."""
        changed = 0
        for conn in list(self.db.scalars(select(BasecampConnection))):
            values = {name: self.cipher.rotate(getattr(conn, name))
                      for name in ("access_token_enc", "refresh_token_enc") if getattr(conn, name)}
            if values:
                self.db.execute(update(BasecampConnection).where(BasecampConnection.id == conn.id)
                                .values(**values).execution_options(synchronize_session=False))
                changed += 1
        for flow in list(self.db.scalars(select(OAuthFlow).where(OAuthFlow.pending_tokens_enc.is_not(None)))):
            flow.pending_tokens_enc = self.cipher.rotate(flow.pending_tokens_enc or "")
            changed += 1
        self.db.commit()
        return changed


def service() -> BasecampService:
    """The current app's BasecampService."""
    return current_app.extensions["basecamp"]
