"""Post the firing alerts to the real Alertmanager as Loki's ruler does, and see who is notified.

Alertmanager runs from tests/pipeline/alertmanager_harness.py: a test copy of
alerts/alertmanager.yml whose Slack and PagerDuty URLs point at a recording receiver and
whose waits are divided by TIME_SCALE. An alert's age (the alert check time minus the
evaluation at which it started firing) is divided by the same factor for `startsAt`.
`endsAt` is 4 resend delays ahead, as the ruler sets it; the observation lasts seconds,
i.e. more than an hour of scaled time, so a critical alert also escalates to the lead.

Who must be notified comes from alerts/alertmanager.yml itself: the receivers amtool routes
each expected alert to, minus warnings inhibited by a firing critical (the config's
inhibit_rules), each receiver at the URLs of its Slack and PagerDuty configs.

The alerts that can inhibit others (the config's source_matchers) are posted first, and the
rest once Alertmanager holds them. Posted in one batch, a backdated warning's group flushes
at once (its startsAt + group_wait is past) and can beat the inhibitor, which learns of the
critical asynchronously: prometheus/alertmanager#2229. In production the critical has
usually been firing for a while when that happens, so the e2e check models that order.
"""
from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
from contextlib import contextmanager
from functools import cache
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from logpipe.e2e.check import NS, Row, alert_key
from logpipe.e2e.truth import AlertKey
from logpipe.monitoring.config import ALERTS_FILE
from logpipe.ruletest.alerting import Alert
from logpipe.ruletest.rulefile import load_rule_file
from tests.pipeline.alertmanager_harness import AM_CONFIG, TIME_SCALE, require_tool, running_alertmanager, wait_until

RESEND_DELAY_S = 60  # the ruler's default resend delay; endsAt = last send + 4 × it
GENERATOR_URL = "http://loki:3100/loki/api/v1/rules"
DELIVERY_TIMEOUT_S = 30.0
INHIBITOR_CATCH_UP_S = 0.2  # the inhibitor reads new alerts from a channel, after the API has them
SETTLE_S = 1.5  # after the last expected notification, for any unexpected one to arrive
SECTION = "Alertmanager notifications"


def _fired_at_ns(alert: Alert, holds: dict[tuple[str, str], tuple[int, int]]) -> int:
    """The first evaluation at which the alert was firing (evaluations every interval from active_at)."""
    hold, interval = holds[(alert.labels["alertname"], alert.labels["severity"])]
    return alert.active_at + math.ceil(hold / interval) * interval


def ruler_alerts(firing: list[Alert], alert_ns: int) -> list[dict[str, Any]]:
    """The firing alerts as the ruler's notifier posts them to /api/v2/alerts."""
    holds = {(r.name, r.labels["severity"]): (r.hold_ns, g.interval_ns or 60 * NS)
             for g in load_rule_file(ALERTS_FILE) for r in g.rules}
    now = datetime.now(timezone.utc)
    return [{"labels": dict(a.labels), "annotations": dict(a.annotations),
             "startsAt": (now - timedelta(seconds=(alert_ns - _fired_at_ns(a, holds)) / NS / TIME_SCALE)).isoformat(),
             "endsAt": (now + timedelta(seconds=4 * RESEND_DELAY_S)).isoformat(),
             "generatorURL": GENERATOR_URL} for a in firing]


def _matchers(texts: list[str]) -> dict[str, str]:
    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or name.endswith(("!", "=~")) or not value.startswith('"'):
            raise ValueError(f"only name=\"value\" matchers are modelled, not {text!r}")
        out[name] = json.loads(value)
    return out


def _matches(texts: list[str], labels: dict[str, str]) -> bool:
    """Whether `labels` satisfy every matcher of a config matcher list."""
    return _matchers(texts).items() <= labels.items()


@cache
def _config() -> dict[str, Any]:
    """alerts/alertmanager.yml, read once."""
    return yaml.safe_load(AM_CONFIG.read_text())


def _inhibited(key: AlertKey, firing: set[AlertKey], rules: list[dict[str, Any]]) -> bool:
    def labels(k: AlertKey) -> dict[str, str]:
        return {"alertname": k[0], "severity": k[1], **dict(k[2])}

    target = labels(key)
    for rule in rules:
        if not _matches(rule["target_matchers"], target):
            continue
        for other in firing - {key}:
            source = labels(other)
            if _matches(rule["source_matchers"], source) and all(
                    source.get(name) == target.get(name) for name in rule.get("equal", [])):
                return True
    return False


def _receivers(key: AlertKey) -> list[str]:
    """amtool's routing of the alert's labels through alerts/alertmanager.yml."""
    name, severity, extra = key
    done = subprocess.run([require_tool("amtool"), "config", "routes", "test", f"--config.file={AM_CONFIG}",
                           f"alertname={name}", f"severity={severity}", *(f"{k}={v}" for k, v in sorted(extra))],
                          capture_output=True, text=True, timeout=30, check=True)
    return [r for r in done.stdout.strip().split(",") if r]


def expected_notifications(expected: set[AlertKey]) -> set[tuple[str, AlertKey]]:
    """(recorder path, alert) pairs the configuration must produce for the expected alerts."""
    config = _config()
    paths = {r["name"]: [f"/pagerduty/{r['name']}"] * bool(r.get("pagerduty_configs"))
             + [f"/slack/{r['name']}"] * bool(r.get("slack_configs")) for r in config["receivers"]}
    return {(path, key) for key in expected if not _inhibited(key, expected, config.get("inhibit_rules", []))
            for receiver in _receivers(key) for path in paths[receiver]}


def _observed(deliveries: list[Any], posted: list[tuple[AlertKey, str]]) -> tuple[set[tuple[str, AlertKey]], int]:
    """(path, alert) pairs found in the notifications, and how many notifications matched no alert."""
    found, stray = set(), 0
    for delivery in deliveries:
        text = json.dumps(delivery.body, ensure_ascii=False)
        hits = {(delivery.path, key) for key, summary in posted
                if "[FIRING" in text and f"{key[0]} ({key[1]})" in text and summary in text}
        found |= hits
        stray += not hits
    return found, stray


def _post_sources_first(manager: Any, alerts: list[dict[str, Any]]) -> None:
    """Post the inhibition sources, wait until Alertmanager holds them, then post the rest."""
    rules = _config().get("inhibit_rules", [])

    def is_source(alert: dict[str, Any]) -> bool:
        return any(_matches(rule["source_matchers"], alert["labels"]) for rule in rules)

    sources = [a for a in alerts if is_source(a)]
    others = [a for a in alerts if not is_source(a)]
    if sources:
        manager.post(sources)
        if not wait_until(lambda: len(manager.active()) >= len(sources), DELIVERY_TIMEOUT_S):
            raise RuntimeError(f"Alertmanager did not take the {len(sources)} posted alerts")
        time.sleep(INHIBITOR_CATCH_UP_S)
    if others:
        manager.post(others)


@contextmanager
def _alertmanager(workdir: Path):
    yield from running_alertmanager(workdir, inside_business_hours=True)


def deliver(firing: list[Alert], expected: set[AlertKey], alert_ns: int) -> list[Row]:
    """Post `firing`, wait for the notifications `expected` must cause, compare."""
    want = expected_notifications(expected)
    posted = [(alert_key(a), a.annotations.get("summary", "")) for a in firing]
    with tempfile.TemporaryDirectory(prefix="e2e-am-") as tmp, _alertmanager(Path(tmp)) as (manager, recorder):
        _post_sources_first(manager, ruler_alerts(firing, alert_ns))
        wait_until(lambda: want <= _observed(recorder.deliveries, posted)[0], DELIVERY_TIMEOUT_S)
        time.sleep(SETTLE_S)
        got, stray = _observed(list(recorder.deliveries), posted)
    rows = [Row(SECTION, f"{path} ← {name} {severity}{''.join(f' {k}={v}' for k, v in sorted(extra))}",
                "delivered" if (path, key) in got else "-", "expected" if (path, key) in want else "-",
                ((path, key) in got) == ((path, key) in want))
            for path, key in sorted(got | want, key=lambda pk: (pk[0], pk[1][0], pk[1][1], sorted(pk[1][2])))
            for name, severity, extra in [key]]
    rows.append(Row(SECTION, "notifications matching no posted alert", str(stray), "0", stray == 0))
    return rows
