"""Every audit, defined once: name, description, LogQL, columns, how results become rows, default limit.

The spec's audit trail (monitoring-and-alerting.md, "Audit Trail") gives two SQL examples; here they
are `recent-refresh-failures` and `connection-success-by-day`. The LogQL is built from the project's
one set of query parts (`logpipe.monitoring.queries`). `user_id` is not a stream label (our Vector
program sets only app, env, level, event), so it is filtered after `| json`.

Every audit lists newest first. Log audits take the newest `limit` entries (Loki's own
`direction=backward` order). Bucket audits evaluate a `[1d]`/`[1h]` metric query once per UTC
day/hour: LogQL range windows are left-open, right-closed, `(t - range, t]`, so the evaluation time
for the bucket `[B, B + range)` is `B + range - 1ns`, which counts exactly the entries with
`B <= ts < B + range` (timestamps are whole nanoseconds). Buckets are whole: the range asked for is
widened to the buckets that contain its first and last nanosecond.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from string import Template
from typing import Any

from app.events.catalogue import Status
from logpipe.logql.timeutil import parse_duration
from logpipe.monitoring import queries as q
from logpipe.monitoring.config import APP

DAY, HOUR = "1d", "1h"

Row = tuple[Any, ...]


@dataclass(frozen=True)
class LogAudit:
    """A log query; each matching FR-016 record becomes one row."""

    name: str
    description: str
    logql: Template  # `$user_id` and other parameters are substituted before the query runs
    columns: tuple[str, ...]
    row: Callable[[Mapping[str, Any]], Row]
    limit: int


@dataclass(frozen=True)
class BucketAudit:
    """A metric query evaluated once per bucket; `row` gets the bucket start and {label value: sample}."""

    name: str
    description: str
    logql: Template
    columns: tuple[str, ...]
    bucket: str  # the bucket width, also the query's range selector
    by: str | None  # the `sum by (…)` label whose values `row` receives; None for a plain `sum`
    row: Callable[[int, Mapping[str, float]], Row]
    limit: int | None = None

    @property
    def bucket_ns(self) -> int:
        return parse_duration(self.bucket)


Audit = LogAudit | BucketAudit


def percent(part: int, whole: int) -> Decimal:
    """100 * part / whole (counts, whole > 0) to two decimals, halves rounded up, exactly (SQL `ROUND(…, 2)`)."""
    hundredths = int(Fraction(10000 * part, whole) + Fraction(1, 2))
    return Decimal(hundredths).scaleb(-2)


def _utc(ns: int, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(ns // 10**9))


def _connection_row(start_ns: int, by_status: Mapping[str, float]) -> Row:
    total = int(sum(by_status.values()))
    successful = int(by_status.get(Status.SUCCESS.value, 0))
    return (_utc(start_ns, "%Y-%m-%d"), total, successful, percent(successful, total))


AUDITS: tuple[Audit, ...] = (
    LogAudit(
        name="recent-refresh-failures",
        description="Recent token refresh failures (spec's first SQL example)",
        logql=Template(q.REFRESH + q.STATUS + q.FAILED),
        columns=("timestamp", "user_id", "account_id", "error"),
        row=lambda r: (r["timestamp"], r["user_id"], r["account_id"], r["error"]),
        limit=50,
    ),
    BucketAudit(
        name="connection-success-by-day",
        description="OAuth connections per UTC day: total, successful, success rate % (spec's second SQL example)",
        logql=Template(q.count(q.CONNECT + q.STATUS, DAY, by="status")),
        columns=("date", "total", "successful", "success_rate"),
        bucket=DAY,
        by="status",
        row=_connection_row,
    ),
    LogAudit(
        name="user-events",
        description="Every FR-016 event of one user (--user-id)",
        logql=Template(f'{{app="{APP}"}}' + q.json(user_id="user_id") + ' | user_id="$user_id"'),
        columns=("timestamp", "event", "level", "status", "account_id", "error_type", "error", "message"),
        row=lambda r: (r["timestamp"], r["event"], r["level"], r["status"], r["account_id"],
                       r["error_type"], r["error"], r["message"]),
        limit=500,
    ),
    LogAudit(
        name="failed-connections",
        description="Failed OAuth connections with their error types",
        logql=Template(q.CONNECT + q.STATUS + q.FAILED),
        columns=("timestamp", "user_id", "error_type", "error"),
        row=lambda r: (r["timestamp"], r["user_id"], r["error_type"], r["error"]),
        limit=100,
    ),
    BucketAudit(
        name="rate-limit-hits-by-hour",
        description="Basecamp API rate-limit hits (HTTP 429) per UTC hour",
        logql=Template(q.count(q.RATE_LIMITED, HOUR)),
        columns=("hour", "hits"),
        bucket=HOUR,
        by=None,
        row=lambda start_ns, values: (_utc(start_ns, "%Y-%m-%dT%H:00:00Z"), int(sum(values.values()))),
    ),
)

BY_NAME: Mapping[str, Audit] = {audit.name: audit for audit in AUDITS}

# What `python -m logpipe lint` checks; parameters take an example value (user_id is an int).
EXAMPLE_PARAMS: Mapping[str, str] = {"user_id": "1"}
LOGQL_QUERIES: Mapping[str, str] = {a.name: a.logql.substitute(EXAMPLE_PARAMS) for a in AUDITS}
