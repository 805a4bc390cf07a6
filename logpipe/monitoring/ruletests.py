"""Rule tests generated from the thresholds (`logpipe/rules/tests/*.yaml`).

For every alert threshold: a scenario whose measured value is just past it (the rules of the
severities it breaches fire) and one exactly at it (they stay silent); zero-traffic and edge
scenarios; and value checks of every recording rule over one busy hour.
"""
import json
import math
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from app.events.catalogue import ErrorType, Event
from logpipe.monitoring import queries as q
from logpipe.monitoring import scenarios as s
from logpipe.monitoring.alerts import ALERTS, GROUP_INTERVALS, VALUE, VALUE_INT, label
from logpipe.monitoring.config import ALERTS_FILE, RECORDING_FILE, RULE_TEST_DIR
from logpipe.monitoring.durations import duration, seconds
from logpipe.monitoring.model import Alert, Measure, Severity, Threshold
from logpipe.monitoring.recording import RECORDING_RULES
from logpipe.monitoring.rulefiles import HEADER, runbook_url

EVALUATION_INTERVAL = "1m"
#: Measured value → (lines, labels of the alert series, eval_time or "" for the default).
Built = tuple[list[s.Lines], dict[str, str], str]
Builder = Callable[[float], Built]


def humanize(value: float) -> str:
    """Prometheus `humanize` for the values these scenarios produce (0 or 1 ≤ |v| < 1000)."""
    if value != 0 and not 1 <= abs(value) < 1000:
        raise ValueError(f"pick a scenario value in [1, 1000) for humanize: {value}")
    return f"{value:.4g}"


def expand(template: str, value: float, labels: dict[str, str]) -> str:
    """An annotation as the ruler expands it, for the templates `alerts` uses."""
    text = template.replace(VALUE_INT, f"{value:.0f}")
    if VALUE in text:
        text = text.replace(VALUE, humanize(value))
    for name, val in labels.items():
        text = text.replace(label(name), val)
    if "{{" in text:
        raise ValueError(f"unexpanded template in {text!r}")
    return text


def expected_alerts(alert: Alert, value: float, series: dict[str, str]) -> list[dict[str, Any]]:
    """The alerts of `alert` that fire when its measure is `value` on `series`."""
    out = []
    for rule in alert.rules:
        if rule.threshold is not None and not rule.threshold.breached(value):
            continue
        out.append({"exp_labels": {**series, "severity": str(rule.severity)},
                    "exp_annotations": {"summary": expand(rule.summary, value, series),
                                        "description": expand(alert.description, value, series),
                                        "runbook_url": runbook_url(alert)}})
    return out


def eval_time(alert: Alert, lines: Iterable[s.Lines], interval: str) -> str:
    """A time when the last line is in and the condition has held for `for` since then."""
    end = max(seconds(x.at) + (x.repeat - 1) * seconds(x.every) for x in lines)
    step = seconds(interval)
    total = end + seconds(alert.for_) + 2 * step
    return duration(math.ceil(total / step) * step)


# --- Line builders: a scenario whose alert measure equals the given value ---

def _ratio(ok: Callable[[], s.Record], bad: Callable[[], s.Record], good: int,
           total: int = 100) -> list[s.Lines]:
    """`good` ok records and `total - good` bad ones, interleaved every 10 s from 1m."""
    lines = [s.Lines("1m", ok(), good)] if good else []
    return lines + ([s.Lines("1m5s", bad(), total - good)] if total > good else [])


def _refresh_rate(value: float) -> Built:
    return _ratio(s.refresh_ok, s.refresh_failed, int(value)), {}, ""


def _completion_rate(value: float) -> Built:
    lines = [s.Lines("1m", s.initiate(), 100)]
    if value:
        lines.append(s.Lines("1m5s", s.connected(40_000), int(value)))
    return lines, {}, ""


def _flow_p95(value: float) -> Built:
    return [s.Lines("1m", s.connected(value * 1000), 20, "1m")], {}, ""


def _status_p95(value: float) -> Built:
    return [s.Lines("1m", s.status_check(value), 20, "30s")], {}, ""


def _rate_limits(value: float) -> Built:
    """`value` 429s among successes and a network error (no `http_status` to compare)."""
    lines = [s.Lines("1m", s.api_ok(120), 10, "1m"), s.Lines("2m10s", s.api_network_error())]
    if value:
        lines.append(s.Lines("1m30s", s.api_rate_limited(), int(value), "1m"))
    return lines, {}, ""


def _error_rate(value: float) -> Built:
    lines = _ratio(s.refresh_ok, lambda: s.refresh_failed(error_type=ErrorType.INVALID_GRANT),
                   100 - int(value))
    series = {"event": str(Event.TOKEN_REFRESH), "error_type": str(ErrorType.INVALID_GRANT)}
    return lines, series, ""


def _expired_percent(value: float) -> Built:
    """A snapshot every 5 minutes for an hour; checked at the last one."""
    expired = int(value)
    return [s.Lines("0s", s.health(100, 100 - expired, expired), 13, "5m")], {}, "1h"


def _spike(value: float) -> Built:
    """One disconnection a day for the 7 days before today, `value` today (ratio = value).

    Checked at 7d12h: today is (6d12h, 7d12h], the baseline (-12h, 6d12h].
    """
    return ([s.Lines("10h", s.disconnected(), q.BASELINE_DAYS, "1d"),
             s.Lines(f"{q.BASELINE_DAYS}d1h", s.disconnected(), int(value), "10m")], {},
            f"{q.BASELINE_DAYS}d12h")


def _consecutive(value: float) -> Built:
    lines = [s.Lines("1m", s.refresh_ok(user_id=7), 3, "1m")]
    lines += [s.Lines(f"{n}m", s.refresh_failed(consecutive=n)) for n in range(1, int(value) + 1)]
    return lines, {"user_id": str(s.USER)}, ""


#: Alertname → (its measure, line builder, the smallest step of the measured value).
THRESHOLD_SCENARIOS: dict[str, tuple[Measure, Builder, float]] = {
    "BasecampTokenRefreshSuccessRateLow": (q.REFRESH_SUCCESS_RATE, _refresh_rate, 1),
    "BasecampTokenRefreshConsecutiveFailures": (q.CONSECUTIVE_REFRESH_FAILURES, _consecutive, 1),
    "BasecampOAuthCompletionRateLow": (q.OAUTH_COMPLETION_RATE, _completion_rate, 1),
    "BasecampOAuthFlowSlow": (q.OAUTH_FLOW_DURATION_P95, _flow_p95, 0.5),
    "BasecampStatusCheckSlow": (q.STATUS_CHECK_P95, _status_p95, 1),
    "BasecampRateLimited": (q.RATE_LIMIT_HITS, _rate_limits, 1),
    "BasecampErrorRateHigh": (q.ERROR_RATE, _error_rate, 1),
    "BasecampExpiredAccountsHigh": (q.EXPIRED_ACCOUNTS_PERCENT, _expired_percent, 1),
    "BasecampDisconnectionSpike": (q.DISCONNECTION_SPIKE, _spike, 1),
}


def past(threshold: Threshold, step: float) -> float:
    """The value one step past the threshold (breaching it)."""
    return threshold.number - step if threshold.op == "<" else (
        threshold.number + step if threshold.op == ">" else threshold.number)


def short_of(threshold: Threshold, step: float) -> float:
    """The closest value that does not breach the threshold."""
    return threshold.number - step if threshold.op == ">=" else threshold.number


def _scenario(alert: Alert, measure: Measure, build: Builder, value: float,
              name: str) -> s.Scenario:
    lines, series, at = build(value)
    case = {"eval_time": at or eval_time(alert, lines, GROUP_INTERVALS[alert.group]),
            "alertname": alert.name,
            "exp_alerts": expected_alerts(alert, value, series)}
    return s.Scenario(f"{name}: {measure.title} = {measure.unit.format(value)}", lines, [case])


def threshold_scenarios(alert: Alert) -> list[s.Scenario]:
    """Just past and exactly at each threshold of the alert."""
    measure, build, step = THRESHOLD_SCENARIOS[alert.name]
    out = []
    for t in measure.thresholds:
        text = f"{t.severity} {t.text(measure.unit)}"
        out.append(_scenario(alert, measure, build, past(t, step), f"{text} fires"))
        out.append(_scenario(alert, measure, build, short_of(t, step),
                             f"{text} stays silent"))
    return out


QUIET = [s.Lines("1m", s.status_check(120), 10)]  # traffic, but none of the alert's events


def _ratio_edges(alert: Alert) -> list[s.Scenario]:
    """A ratio whose numerator has no events is 0 (both fire); no denominator is silence."""
    measure, build, _ = THRESHOLD_SCENARIOS[alert.name]
    return [_scenario(alert, measure, build, 0, "every attempt failed: both fire"),
            s.Scenario(f"no traffic: {measure.title} absent, silent", QUIET,
                       [{"eval_time": "30m", "alertname": alert.name, "exp_alerts": []}])]


def _consecutive_edges(alert: Alert) -> list[s.Scenario]:
    """A success resets the user's count: the latest refresh decides, whatever its stream."""
    limit = q.CONSECUTIVE_REFRESH_FAILURES.threshold(Severity.CRITICAL).number
    lines, _, _ = _consecutive(limit)
    lines.append(s.Lines(f"{int(limit) + 1}m", s.refresh_ok()))
    return [s.Scenario(f"{limit:g} failures then a success: silent", lines, [
        {"eval_time": eval_time(alert, lines, "1m"), "alertname": alert.name,
         "exp_alerts": []}])]


def _no_completion_edges(alert: Alert) -> list[s.Scenario]:
    """Initiated but none completed fires once `for` has passed; a completion or no
    initiation at all is silence."""
    tried = [s.Lines("1m", s.initiate(), 3, "1m"),
             s.Lines("3m", s.connect_failed(ErrorType.SESSION_EXPIRED), 3, "1m")]
    at = eval_time(alert, tried, "1m")
    before_for = duration(seconds(alert.for_) // 2)
    return [
        s.Scenario("initiated, none completed: fires", tried, [
            {"eval_time": before_for, "alertname": alert.name, "exp_alerts": []},
            {"eval_time": at, "alertname": alert.name,
             "exp_alerts": expected_alerts(alert, tried[0].repeat, {})}]),
        s.Scenario("initiated, one completed: silent",
                   [*tried, s.Lines("10m", s.connected(30_000))],
                   [{"eval_time": at, "alertname": alert.name, "exp_alerts": []}]),
        s.Scenario("no one tried (no traffic): silent", QUIET,
                   [{"eval_time": at, "alertname": alert.name, "exp_alerts": []}]),
    ]


def _spike_edges(alert: Alert) -> list[s.Scenario]:
    """Without disconnections in the 7 days before there is no average to exceed: silent."""
    lines = [s.Lines("1h", s.disconnected(), 10, "1m")]
    return [s.Scenario("no baseline (a new install): silent", lines, [
        {"eval_time": "2h", "alertname": alert.name, "exp_alerts": []}])]


EDGE_SCENARIOS: dict[str, Callable[[Alert], list[s.Scenario]]] = {
    "BasecampDisconnectionSpike": _spike_edges,
    "BasecampTokenRefreshSuccessRateLow": _ratio_edges,
    "BasecampOAuthCompletionRateLow": _ratio_edges,
    "BasecampTokenRefreshConsecutiveFailures": _consecutive_edges,
    "BasecampOAuthNoCompletions": _no_completion_edges,
}


# --- Recording rules: one busy hour with known values ---

def prom_quantile(values: list[float], phi: float) -> float:
    """Prometheus' quantile (linear interpolation between closest ranks)."""
    ordered = sorted(values)
    rank = phi * (len(ordered) - 1)
    lower = max(0, math.floor(rank))
    upper = min(len(ordered) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


BUSY_HOUR = {
    "refresh_ok": 18, "refresh_failed": 2, "initiates": 10,
    "flow_seconds": [10, 20, 30, 40, 50, 60, 70, 80],
    "status_ms": [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000],
    "api_ok_ms": [100, 200, 300, 400, 500, 600], "api_429": 3, "api_429_ms": 50,
    "health": [(40, 38, 2)] * 11 + [(40, 37, 3)], "disconnects": 2,
}


def busy_hour_lines() -> list[s.Lines]:
    """Every event type within (0, 1h]: refreshes, flows, checks, API calls, snapshots."""
    b = BUSY_HOUR
    lines = [s.Lines("1m", s.refresh_ok(), b["refresh_ok"], "1m"),
             s.Lines("1m30s", s.refresh_failed(), b["refresh_failed"], "1m"),
             s.Lines("2m", s.initiate(), b["initiates"], "2m"),
             s.Lines("30m", s.connect_failed(ErrorType.SESSION_EXPIRED)),
             s.Lines("31m", s.connect_failed(ErrorType.INVALID_STATE)),
             s.Lines("5m", s.api_rate_limited(duration_ms=b["api_429_ms"]), b["api_429"], "1m"),
             s.Lines("40m", s.disconnected(), b["disconnects"], "1m")]
    lines += [s.Lines(f"{3 + 2 * i}m", s.connected(sec * 1000))
              for i, sec in enumerate(b["flow_seconds"])]
    lines += [s.Lines(f"{20 + i}m", s.status_check(ms)) for i, ms in enumerate(b["status_ms"])]
    lines += [s.Lines(f"{10 + i}m", s.api_ok(ms)) for i, ms in enumerate(b["api_ok_ms"])]
    lines += [s.Lines(duration(300 * i + 5), s.health(*snap))
              for i, snap in enumerate(b["health"])]
    return lines


def busy_hour_values() -> dict[str, list[tuple[dict[str, str], float]]]:
    """Each recorded series' value at 1h, derived from BUSY_HOUR."""
    b = BUSY_HOUR
    refreshes = b["refresh_ok"] + b["refresh_failed"]
    api_ms = b["api_ok_ms"] + [b["api_429_ms"]] * b["api_429"]
    api_total = len(api_ms)
    total, connected, expired = b["health"][-1]
    connects = len(b["flow_seconds"]) + 2

    def quantiles(values: list[float]) -> list[tuple[dict[str, str], float]]:
        return [({"quantile": phi}, prom_quantile(values, float(phi))) for phi in q.QUANTILES]

    refresh, api = str(Event.TOKEN_REFRESH), str(Event.API_REQUEST)
    connect = str(Event.OAUTH_CONNECT)
    return {
        "basecamp_token_refresh_success_rate": [({}, 100 * b["refresh_ok"] / refreshes)],
        "basecamp_oauth_completion_rate": [({}, 100 * len(b["flow_seconds"]) / b["initiates"])],
        "basecamp_oauth_flow_duration_seconds": quantiles(b["flow_seconds"]),
        "basecamp_status_check_duration_ms": quantiles(b["status_ms"]),
        "basecamp_rate_limit_hits": [({}, b["api_429"])],
        "basecamp_oauth_errors_by_type": [({"error_type": "session_expired"}, 1),
                                          ({"error_type": "invalid_state"}, 1)],
        "basecamp_auth_errors_by_type": [
            ({"event": refresh, "error_type": "invalid_grant"}, b["refresh_failed"]),
            ({"event": api, "error_type": "rate_limited"}, b["api_429"])],
        "basecamp_connected_accounts_total": [({}, connected)],
        "basecamp_expired_accounts_total": [({}, expired)],
        "basecamp_disconnection_rate": [({}, b["disconnects"])],
        "basecamp_api_request_duration_ms": quantiles(api_ms),
        "basecamp_error_rate_percent": [
            ({"event": refresh, "error_type": "invalid_grant"},
             100 * b["refresh_failed"] / refreshes),
            ({"event": api, "error_type": "rate_limited"}, 100 * b["api_429"] / api_total),
            ({"event": connect, "error_type": "session_expired"}, 100 / connects),
            ({"event": connect, "error_type": "invalid_state"}, 100 / connects)],
        "basecamp_expired_accounts_percent": [({}, 100 * expired / total)],
    }


#: What the recorded series are when only status checks happen (zero traffic elsewhere).
QUIET_HOUR_VALUES = {"basecamp_token_refresh_success_rate": [],
                     "basecamp_oauth_completion_rate": [],
                     "basecamp_rate_limit_hits": [({}, 0)],
                     "basecamp_disconnection_rate": [({}, 0)],
                     "basecamp_error_rate_percent": [],
                     "basecamp_expired_accounts_percent": []}


def _sample_name(record: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{record}{{{inner}}}" if inner else record


def _expr_tests(values: dict[str, list[tuple[dict[str, str], float]]],
                at: str) -> list[dict[str, Any]]:
    """Check each recorded series by its name (quantile variants share one name)."""
    return [{"expr": record, "eval_time": at,
             "exp_samples": [{"labels": _sample_name(record, labels), "value": value}
                             for labels, value in samples]}
            for record, samples in values.items()]


def recording_scenarios() -> list[s.Scenario]:
    """A value check of every recording rule, and the zero-traffic values."""
    recorded = {rule.record for rule in RECORDING_RULES}
    values = busy_hour_values()
    if set(values) != recorded:
        raise ValueError(f"value checks missing for {sorted(recorded - set(values))}")
    return [s.Scenario("busy hour: every recorded metric", busy_hour_lines(), [],
                       _expr_tests(values, "1h")),
            s.Scenario("quiet hour: absent ratios, zero counts",
                       [s.Lines("1m", s.status_check(120), 10)], [],
                       _expr_tests(QUIET_HOUR_VALUES, "1h"))]


# --- Rendering (flow-style lines: one line of YAML per burst of records) ---

def _q(text: str) -> str:
    """A YAML scalar: single-quoted (no escapes) unless the text holds a quote."""
    return f"'{text}'" if "'" not in text else json.dumps(text, ensure_ascii=False)


def _lines_yaml(item: s.Lines) -> str:
    repeat = f", repeat: {item.repeat}, every: {item.every}" if item.repeat > 1 else ""
    return (f"          - {{at: {item.at}{repeat}, "
            f"line: {json.dumps(item.rec, ensure_ascii=False)}}}\n")


def _alert_yaml(case: dict[str, Any]) -> str:
    out = [f"      - eval_time: {case['eval_time']}\n",
           f"        alertname: {case['alertname']}\n"]
    if not case["exp_alerts"]:
        return "".join(out) + "        exp_alerts: []\n"
    out.append("        exp_alerts:\n")
    for exp in case["exp_alerts"]:
        out.append(f"          - exp_labels: {json.dumps(exp['exp_labels'])}\n"
                   "            exp_annotations:\n")
        out += [f"              {k}: {_q(v)}\n" for k, v in exp["exp_annotations"].items()]
    return "".join(out)


def _expr_yaml(case: dict[str, Any]) -> str:
    comment = f"      # {case['comment']}\n" if "comment" in case else ""
    out = [comment, f"      - expr: {_q(case['expr'])}\n",
           f"        eval_time: {case['eval_time']}\n"]
    if not case["exp_samples"]:
        return "".join(out) + "        exp_samples: []\n"
    out.append("        exp_samples:\n")
    out += [f"          - labels: {_q(x['labels'])}\n            value: {x['value']!r}\n"
            for x in case["exp_samples"]]
    return "".join(out)


def render(doc: str, rule_file: str, scenarios: list[s.Scenario]) -> str:
    """One test file."""
    rel = os.path.relpath(rule_file, RULE_TEST_DIR)
    out = [HEADER, f"# {doc}\n", f"rule_files:\n  - {rel}\n",
           f"evaluation_interval: {EVALUATION_INTERVAL}\n", "tests:\n"]
    for scenario in scenarios:
        out.append(f"  - name: {_q(scenario.name)}\n    input_streams:\n")
        for labels, items in scenario.streams().items():
            out.append(f"      - labels: {_q(labels)}\n        lines:\n")
            out += [_lines_yaml(item) for item in items]
        if scenario.alert_tests:
            out.append("    alert_rule_test:\n")
            out += [_alert_yaml(case) for case in scenario.alert_tests]
        if scenario.expr_tests:
            out.append("    logql_expr_test:\n")
            out += [_expr_yaml(case) for case in scenario.expr_tests]
    return "".join(out)


def file_name(alert: Alert) -> str:
    """`BasecampTokenRefreshSuccessRateLow` → `token-refresh-success-rate-low.yaml`."""
    name = alert.name.removeprefix("Basecamp").replace("OAuth", "Oauth")
    words = re.findall(r"[A-Z][a-z]+|[A-Z]+(?![a-z])", name)
    return "-".join(w.lower() for w in words) + ".yaml"


def render_all() -> dict[str, str]:
    """Every rule test file by name."""
    files = {"recording-rules.yaml": render(
        "Value checks of every recording rule.", str(RECORDING_FILE), recording_scenarios())}
    for alert in ALERTS:
        scenarios = threshold_scenarios(alert) if alert.name in THRESHOLD_SCENARIOS else []
        scenarios += EDGE_SCENARIOS.get(alert.name, lambda _: [])(alert)
        files[file_name(alert)] = render(
            f"{alert.name}: fires just past each threshold, silent at it.",
            str(ALERTS_FILE), scenarios)
    return files
