"""Run one audit against a source and turn the Loki-shaped answer into rows, newest first."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

from logpipe.audit.catalogue import Audit, LogAudit, Row
from logpipe.audit.lokidata import LogEntry, LokiDataError, Points


class Source(Protocol):
    """Where the logs are: a file through the engine, or a Loki through its HTTP API."""

    def logs(self, query: str, start_ns: int, end_ns: int, limit: int) -> list[LogEntry]:
        """The newest `limit` entries with start <= ts < end (in any order)."""

    def matrix(self, query: str, start_ns: int, end_ns: int, step_ns: int, lookback_ns: int) -> list[Points]:
        """The range query evaluated at start, start+step, … <= end."""


def bucket_times(start_ns: int, end_ns: int, bucket_ns: int) -> tuple[int, int]:
    """First and last evaluation times for the whole buckets covering [start, end).

    The bucket [B, B + bucket) is evaluated at B + bucket - 1ns: the window (t - bucket, t] is then
    exactly [B, B + bucket).
    """
    first = start_ns // bucket_ns * bucket_ns
    last = (end_ns - 1) // bucket_ns * bucket_ns
    return first + bucket_ns - 1, last + bucket_ns - 1


def run(audit: Audit, source: Source, start_ns: int, end_ns: int, limit: int | None,
        params: Mapping[str, str]) -> list[Row]:
    """The audit's rows over [start, end), newest first, at most `limit` (None: the audit's default)."""
    query = audit.logql.substitute(params)
    limit = audit.limit if limit is None else limit
    if isinstance(audit, LogAudit):
        found = source.logs(query, start_ns, end_ns, limit)
        newest = sorted(found, key=lambda e: e.ts_ns, reverse=True)[:limit]
        return [audit.row(json.loads(entry.line)) for entry in newest]
    first, last = bucket_times(start_ns, end_ns, audit.bucket_ns)
    buckets: dict[int, dict[str, float]] = {}
    for points in source.matrix(query, first, last, audit.bucket_ns, audit.bucket_ns):
        key = dict(points.labels).get(audit.by, "") if audit.by else ""
        for t, value in points.values:
            bucket = _bucket(t, first, last, audit.bucket_ns)
            values = buckets.setdefault(bucket, {})
            values[key] = values.get(key, 0.0) + value
    rows = [audit.row(bucket, buckets[bucket]) for bucket in sorted(buckets, reverse=True)]
    return rows if limit is None else rows[:limit]


def _bucket(t_seconds: float, first: int, last: int, step: int) -> int:
    """The start of the bucket evaluated at `t_seconds`, which must be a requested evaluation time.

    Loki reports matrix times truncated to the millisecond, so `first + k*step` must read back exactly
    as its millisecond: a sample at midnight is not the one evaluated at the day's last nanosecond.
    """
    t_ms = round(t_seconds * 1000)
    at = first + round((t_ms * 10**6 - first) / step) * step
    if not first <= at <= last or t_ms != at // 10**6:
        raise LokiDataError(f"sample at {t_seconds} is not on the requested step grid")
    return at + 1 - step
