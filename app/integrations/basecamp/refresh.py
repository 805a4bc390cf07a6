"""Token refresh under a cross-process lease held in the connection row.

The lease is taken with one conditional UPDATE (rowcount 1 = ours), which works the
same on SQLite and PostgreSQL; after taking it the row is re-read, because another
process may have refreshed it meanwhile.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import time
import uuid
from enum import StrEnum

from sqlalchemy import or_, update
from sqlalchemy.orm import scoped_session

from app.crypto import TokenCipher
from app.db import utcnow
from app.events import ErrorType, Event, Status, emit
from app.integrations.basecamp.client import ApiError, BasecampClient
from app.models import CONNECTED, EXPIRED, BasecampConnection

LEASE_SECONDS = 120
_OWNER_PREFIX = f"{socket.gethostname()}:{os.getpid()}"


class RefreshOutcome(StrEnum):
    REFRESHED = "refreshed"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to do: not connected, no longer due, or refreshed by someone else
    BUSY = "busy"  # another process holds the lease


def token_fields(data: object) -> tuple[str, str | None, int]:
    """(access_token, refresh_token or None, expires_in) from a token answer; ValueError if malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise ValueError("token answer without access_token")
    refresh = data.get("refresh_token")
    expires_in = data.get("expires_in", 1209600)
    if (refresh is not None and not isinstance(refresh, str)) or isinstance(expires_in, bool) \
            or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise ValueError("token answer with malformed refresh_token or expires_in")
    return data["access_token"], refresh, int(expires_in)


class Refresher:
    """Refresh one connection's tokens, one process at a time, with one FR-016 event per operation."""

    def __init__(self, db: scoped_session, client: BasecampClient, cipher: TokenCipher) -> None:
        self._db = db
        self._client = client
        self._cipher = cipher

    def _take_lease(self, conn_id: int, owner: str) -> bool:
        now = utcnow()
        table = BasecampConnection
        result = self._db.execute(
            update(table)
            .where(table.id == conn_id, or_(table.refresh_lease_until.is_(None), table.refresh_lease_until < now))
            .values(refresh_lease_until=now + dt.timedelta(seconds=LEASE_SECONDS), refresh_lease_owner=owner)
            .execution_options(synchronize_session=False)
        )
        self._db.commit()
        return result.rowcount == 1

    def _release_lease(self, conn_id: int, owner: str) -> None:
        table = BasecampConnection
        self._db.execute(
            update(table).where(table.id == conn_id, table.refresh_lease_owner == owner)
            .values(refresh_lease_until=None, refresh_lease_owner=None)
            .execution_options(synchronize_session=False)
        )
        self._db.commit()

    def refresh(self, conn_id: int, *, due_before: dt.datetime | None = None, seen_version: int | None = None,
                wait: float = 0.0) -> RefreshOutcome:
        """Refresh connection `conn_id` unless that is no longer needed.

        `due_before`: skip when the token now expires after it (someone else refreshed).
        `seen_version`: skip when the row changed since the caller read its token.
        `wait`: seconds to wait for another process's lease before answering BUSY.
        """
        owner = f"{_OWNER_PREFIX}:{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + wait
        while not self._take_lease(conn_id, owner):
            if time.monotonic() >= deadline:
                return RefreshOutcome.BUSY
            time.sleep(0.05)
        try:
            conn = self._db.get(BasecampConnection, conn_id, populate_existing=True)
            self._db.commit()  # end the read transaction: no database lock held during HTTP
            if conn is None or conn.state != CONNECTED or not conn.refresh_token_enc:
                return RefreshOutcome.SKIPPED
            if due_before is not None and conn.expires_at is not None and conn.expires_at > due_before:
                return RefreshOutcome.SKIPPED
            if seen_version is not None and conn.version != seen_version:
                return RefreshOutcome.SKIPPED
            return self._refresh_now(conn)
        finally:
            self._release_lease(conn_id, owner)

    def _refresh_now(self, conn: BasecampConnection) -> RefreshOutcome:
        started = time.perf_counter()
        refresh_token = self._cipher.decrypt(conn.refresh_token_enc or "")
        error_type: ErrorType | None = None
        try:
            result = self._client.refresh(refresh_token, user_id=conn.user_id, account_id=conn.account_id)
            attempts, http_status = result.attempts, result.http_status
            access, new_refresh, expires_in = token_fields(result.data)
        except ApiError as exc:
            attempts, http_status, error_type, error = exc.attempts, exc.http_status, exc.error_type, exc.error
        except ValueError as exc:
            error_type, error = ErrorType.INVALID_RESPONSE, str(exc)
        now = utcnow()
        values: dict[str, object] = {"last_refresh_at": now, "version": conn.version + 1}
        if error_type is None:
            values.update(access_token_enc=self._cipher.encrypt(access), expires_at=now + dt.timedelta(seconds=expires_in),
                          last_refresh_result="success", consecutive_failures=0)
            if new_refresh:
                values["refresh_token_enc"] = self._cipher.encrypt(new_refresh)
        else:
            values.update(last_refresh_result=error_type.value, consecutive_failures=conn.consecutive_failures + 1)
            if error_type is ErrorType.INVALID_GRANT:
                values["state"] = EXPIRED
        table = BasecampConnection
        # Conditional on the version read under the lease: a disconnect meanwhile wins, its tokens stay wiped.
        self._db.execute(update(table).where(table.id == conn.id, table.version == conn.version).values(**values)
                         .execution_options(synchronize_session=False))
        self._db.commit()
        common = dict(user_id=conn.user_id, account_id=conn.account_id,
                      duration_ms=(time.perf_counter() - started) * 1000, attempt=attempts,
                      max_retries=self._client.max_attempts, http_status=http_status,
                      consecutive_failures=values["consecutive_failures"])
        if error_type is None:
            emit(Event.TOKEN_REFRESH, status=Status.SUCCESS,
                 message=f"Basecamp token refresh successful | user_id={conn.user_id} | account_id={conn.account_id}",
                 **common)
            return RefreshOutcome.REFRESHED
        emit(Event.TOKEN_REFRESH, status=Status.FAILURE, error=error, error_type=error_type,
             message=f"Basecamp token refresh failed | user_id={conn.user_id} | error={error}", **common)
        return RefreshOutcome.FAILED
