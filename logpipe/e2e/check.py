"""Evaluate our rules over the app's event log and compare every number with the ground truth.

The log goes through our Vector remap program (`LogStore.from_jsonl(path, labels=None)`), the
recording rules are evaluated at the last event (E), the alerting rules with the rule test
runner's state machine at C = E + the longest `for` plus one interval of any group, so that
every evaluation the alerts depend on sees the whole run.

Durations cannot be equal: the app times less than the person waits. Each status call and
each successful flow is paired with its event (per user, in order), and every pair must have
app time ≤ client time. What the client's timer covers beyond the app's is one loopback
request's transport, routing, session and sign-in lookup for a status call (a few ms here),
two of them for a flow (the /connect request around the flow's start, the /callback answer
after its event); the budget B is 100 ms per request (0.2 s per flow): some 20 times the
quiet-machine overhead, for a 2-core machine shared with the servers and other test runs.
With the same interpolation on both sides (Prometheus' quantile, which quantile_over_time uses
and the ground truth reuses), server ≤ client per pair gives server_q ≤ client_q; if k pairs
exceed B (a stall outside the app's timer, counted in the table), order statistics move by at
most k ranks, so client_q at level q − k/(n − 1), minus B, bounds server_q from below (0 when
that level is below 0).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.events.catalogue import Event
from logpipe.e2e.scenarios import Scenario
from logpipe.e2e.traffic import Truth
from logpipe.e2e.truth import AlertKey, Labels, Vector, client_quantiles, count_metrics, expected_alerts, \
    expected_events
from logpipe.logql import LogStore, instant_query, range_query
from logpipe.logql.evaluator import quantile
from logpipe.monitoring import queries as q
from logpipe.monitoring import report
from logpipe.monitoring.config import ALERTS_FILE
from logpipe.monitoring.durations import duration, seconds
from logpipe.ruletest.alerting import Alert
from logpipe.ruletest.rulefile import load_rule_file

NS = 10**9
ROUNDING = 1e-6  # duration_ms is logged to the µs


@dataclass(frozen=True)
class Timing:
    """A duration metric, the events it reads and the per-request budget B, in the metric's unit."""

    record: str
    event: Event
    successes_only: bool
    per_ms: float
    budget: float
    unit: str


TIMINGS = (Timing("basecamp_status_check_duration_ms", Event.STATUS_CHECK, False, 1.0, 100.0, "ms"),
           Timing("basecamp_oauth_flow_duration_seconds", Event.OAUTH_CONNECT, True, 1e-3, 0.2, "s"))


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side table."""

    section: str
    metric: str
    logs: str
    truth: str
    match: bool


@dataclass
class Evaluation:
    """What the log says: recorded series at E, event counts, alerts firing at C."""

    store: LogStore
    end_ns: int
    alert_ns: int
    recorded: dict[str, Vector]
    events: dict[tuple[str, str, str], int]
    per_user: dict[tuple[str, int, str], int]
    firing: list[Alert]
    rows: list[Row] = field(default_factory=list)


def lookback_ns() -> int:
    """The longest `for` plus its group's interval, over the alerting rule groups."""
    return max(max(r.hold_ns for r in g.rules) + (g.interval_ns or report.DEFAULT_INTERVAL_NS)
               for g in load_rule_file(ALERTS_FILE))


def _label_key(labels: dict[str, str]) -> Labels:
    return frozenset(labels.items())


def _event_counts(store: LogStore, end_ns: int, window: str) -> dict[tuple[str, str, str], int]:
    counts = {}
    for event in Event:
        expr = q.count(q.selector(event) + q.extract(status="status", error_type="error_type"), window,
                       by="status, error_type")
        for sample in instant_query(store, expr, end_ns).samples:
            counts[(str(event), sample.labels.get("status", ""), sample.labels.get("error_type", ""))] = \
                int(sample.value)
    return counts


PER_USER_EVENTS = (Event.OAUTH_INITIATE, Event.OAUTH_CONNECT, Event.STATUS_CHECK, Event.DISCONNECT)


def _per_user_counts(store: LogStore, end_ns: int, window: str) -> dict[tuple[str, int, str], int]:
    """(event, user_id, "success" or error type) -> events, for the events people cause."""
    counts = {}
    for event in PER_USER_EVENTS:
        expr = q.count(q.selector(event) + q.extract(user_id="user_id", status="status", error_type="error_type"),
                       window, by="user_id, status, error_type")
        for sample in instant_query(store, expr, end_ns).samples:
            outcome = sample.labels.get("error_type") or sample.labels.get("status", "")
            counts[(str(event), int(sample.labels.get("user_id", "0")), outcome)] = int(sample.value)
    return counts


def evaluate(log: Path) -> Evaluation:
    """Load the log through the Vector remap program and evaluate the rules."""
    store = LogStore.from_jsonl(log)
    times = [entry.ts_ns for entry in store.iter_entries()]
    if not times:
        raise ValueError(f"{log} holds no FR-016 event")
    end_ns = max(times)
    alert_ns = end_ns + lookback_ns()
    if alert_ns - min(times) >= seconds(q.REFRESH_WINDOW) * NS:
        raise ValueError("the run is too long: the 1h windows would no longer hold all of it at the alert check")
    recorded: dict[str, Vector] = {}
    for name, labels, value in report.recorded(store, end_ns):
        recorded.setdefault(name, {})[_label_key(labels)] = value
    window = duration(math.ceil((end_ns - min(times)) / NS) + 1)
    return Evaluation(store, end_ns, alert_ns, recorded, _event_counts(store, end_ns, window),
                      _per_user_counts(store, end_ns, window), report.firing_alerts(store, alert_ns))


def _labels_text(key: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(key)) + "}" if key else ""


def _num(value: float | None) -> str:
    return "absent" if value is None else f"{value:.6g}"


def _compare_vectors(section: str, name: str, logs: Vector, truth: Vector, close: Callable) -> list[Row]:
    rows = []
    for key in sorted(set(logs) | set(truth), key=sorted):
        got, want = logs.get(key), truth.get(key)
        ok = got is not None and want is not None and close(name, key, got, want)
        rows.append(Row(section, f"{name}{_labels_text(key)}", _num(got), _num(want), ok))
    return rows


def _exact(_name: str, _key: Labels, got: float, want: float) -> bool:
    return got == want


def _server_durations(ev: Evaluation, timing: Timing) -> dict[int, list[float]]:
    """The app's durations per user_id, in time order (a log query over the same store)."""
    query = q.selector(timing.event) + (q.STATUS + q.SUCCEEDED if timing.successes_only else "")
    result = range_query(ev.store, query, 0, ev.end_ns + 1, NS, limit=len(ev.store), direction="forward")
    out: dict[int, list[tuple[int, float]]] = {}
    for stream in result.streams:
        for ts, line in stream.entries:
            record = json.loads(line)
            out.setdefault(record["user_id"], []).append((ts, record["duration_ms"] * timing.per_ms))
    return {user: [value for _, value in sorted(pairs)] for user, pairs in out.items()}


def duration_rows(ev: Evaluation, truth: Truth) -> list[Row]:
    """Per-request pairing (app ≤ client), then each quantile within the bounds of the module docstring."""
    rows: list[Row] = []
    client_q = client_quantiles(truth)
    for timing, timed in zip(TIMINGS, (truth.status_ms, truth.flow_seconds)):
        per = "flow" if timing.successes_only else "request"
        section = (f"durations: app ≤ client per {per}; client_q(q − k/(n−1)) − B ≤ app_q ≤ client_q, "
                   f"B = {timing.budget:g} {timing.unit}")
        client: dict[int, list[float]] = {}
        for user, value in timed:
            client.setdefault(user, []).append(value)
        server = _server_durations(ev, timing)
        pairs = [(a, c) for user in client for a, c in zip(server.get(user, []), client[user])]
        paired = {u: len(v) for u, v in server.items()} == {u: len(v) for u, v in client.items()}
        ordered = sum(a <= c + ROUNDING for a, c in pairs)
        stalls = sum(c - a > timing.budget for a, c in pairs)
        rows.append(Row(section, f"{timing.record}: app time ≤ client time", f"{ordered} of {len(pairs)} pairs",
                        f"{len(timed)} requests", paired and ordered == len(timed)))
        rows.append(Row(section, f"{timing.record}: pairs with client − app > B (k)", str(stalls), "reported", True))
        values = [value for _, value in timed]
        for key, want in sorted(client_q.get(timing.record, {}).items(), key=lambda kv: sorted(kv[0])):
            level = float(dict(key)["quantile"])
            shifted = level - stalls / max(1, len(values) - 1)
            lower = quantile(shifted, values) - timing.budget if shifted >= 0 else 0.0
            got = ev.recorded.get(timing.record, {}).get(key)
            rows.append(Row(section, f"{timing.record}{_labels_text(key)}", _num(got), f"{_num(want)} (client)",
                            got is not None and lower - ROUNDING <= got <= want + ROUNDING))
    return rows


def metric_rows(ev: Evaluation, truth: Truth) -> list[Row]:
    rows: list[Row] = []
    for name, vector in count_metrics(truth).items():
        rows += _compare_vectors("count metrics at E (exact)", name, ev.recorded.get(name, {}), vector, _exact)
    return rows + duration_rows(ev, truth)


def event_rows(ev: Evaluation, truth: Truth) -> list[Row]:
    want = expected_events(truth).counts
    rows = [Row("events (none lost)", f"{key[0]}{{status={key[1]}{', error_type=' + key[2] if key[2] else ''}}}",
                _num(ev.events.get(key)), _num(want.get(key)), ev.events.get(key) == want.get(key))
            for key in sorted(set(want) | set(ev.events))]
    for event in PER_USER_EVENTS:
        got = {k: n for k, n in ev.per_user.items() if k[0] == event}
        exp = {k: n for k, n in truth.per_user.items() if k[0] == event}
        wrong = sorted(set(got) ^ set(exp) | {k for k in got if got[k] != exp.get(k)})
        summary = "{} events of {} users"
        rows.append(Row("events (none lost)", f"{event} per (user_id, outcome)",
                        summary.format(sum(got.values()), len({k[1] for k in got}))
                        + (f"; first difference user {wrong[0][1]} {wrong[0][2]}" if wrong else ""),
                        summary.format(sum(exp.values()), len({k[1] for k in exp})), not wrong))
    rows.append(Row("events (none lost)", "lines dead-lettered by the remap", str(len(ev.store.skipped)), "0",
                    not ev.store.skipped))
    return rows


def alert_key(alert: Alert) -> AlertKey:
    extra = {k: v for k, v in alert.labels.items() if k not in ("alertname", "severity")}
    return alert.labels["alertname"], alert.labels["severity"], frozenset(extra.items())


def alert_rows(ev: Evaluation, truth: Truth, scenario: Scenario) -> list[Row]:
    firing = {alert_key(a) for a in ev.firing}
    expected = expected_alerts(truth, ev.alert_ns / NS)
    rows = [Row("alerts firing at C", f"{name} {severity}{_labels_text(extra)}",
                "firing" if key in firing else "-", "firing" if key in expected else "-",
                (key in firing) == (key in expected))
            for key in sorted(firing | expected, key=lambda k: (k[0], k[1], sorted(k[2])))
            for name, severity, extra in [key]]
    shown = {(name, severity) for name, severity, _ in firing | expected}
    quiet = sorted({(r.name, r.labels["severity"]) for g in load_rule_file(ALERTS_FILE) for r in g.rules} - shown)
    rows.append(Row("alerts firing at C", f"every other alerting rule ({len(quiet)} of {len(quiet) + len(shown)})",
                    "not firing", "not firing", True))
    designed = {(name, severity) for name, severity, _ in expected}
    for name, severity in sorted(scenario.designed_to_fire):
        rows.append(Row("scenario design", f"{name} {severity} expected", "-",
                        "yes" if (name, severity) in designed else "no", (name, severity) in designed))
    if scenario.exact:
        extra = sorted(f"{name} {severity}" for name, severity in designed - scenario.designed_to_fire)
        rows.append(Row("scenario design", "no other alert expected", "-", ", ".join(extra) or "none", not extra))
    return rows


def source_rows(truth: Truth) -> list[Row]:
    """The app's own outputs (refresh-due summaries, the status API) against generator + simulator."""
    ok = sum(p.answers["refresh_token 200"] for p in truth.refresh_passes)
    refreshed = sum(p.summary["refreshed"] for p in truth.refresh_passes)
    failed = sum(p.summary["failed"] for p in truth.refresh_passes)
    states = truth.status_states
    return [
        Row("app outputs vs ground truth", "refresh-due refreshed / simulator refresh 200s", str(refreshed), str(ok),
            refreshed == ok),
        Row("app outputs vs ground truth", "refresh-due failed / due minus successes", str(failed),
            str(truth.refresh_ops - ok), failed == truth.refresh_ops - ok),
        Row("app outputs vs ground truth", "status API connected / live connections", str(states["connected"]),
            str(truth.live), states["connected"] == truth.live),
        Row("app outputs vs ground truth", "status API expired / simulator invalid_grants", str(states["expired"]),
            str(truth.expired), states["expired"] == truth.expired),
    ]


def check(log: Path, truth: Truth, scenario: Scenario) -> Evaluation:
    """Evaluate the log and fill `rows` with every comparison."""
    ev = evaluate(log)
    ev.rows = [*metric_rows(ev, truth), *event_rows(ev, truth), *alert_rows(ev, truth, scenario),
               *source_rows(truth)]
    return ev
