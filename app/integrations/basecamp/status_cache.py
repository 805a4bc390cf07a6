"""Per-user, per-process cache of live-verified status answers.

Each entry remembers the connection key `(row id, version)` it was computed for; a
hit is only served when one indexed read finds the same key, so a connect,
disconnect or refresh made by ANY process invalidates it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

ConnectionKey = tuple[int, int] | None


@dataclass(frozen=True)
class _Entry:
    key: ConnectionKey
    payload: dict[str, Any]
    expires: float


class StatusCache:
    """Thread-safe map user_id -> (connection key, payload, expiry)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, user_id: int, key: ConnectionKey) -> dict[str, Any] | None:
        """The cached payload if it is fresh and still describes connection `key`."""
        entry = self._entries.get(user_id)
        if entry is None or entry.key != key or entry.expires <= time.monotonic():
            return None
        return entry.payload

    def put(self, user_id: int, key: ConnectionKey, payload: dict[str, Any]) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[user_id] = _Entry(key, payload, time.monotonic() + self.ttl)

    def invalidate(self, user_id: int) -> None:
        with self._lock:
            self._entries.pop(user_id, None)
