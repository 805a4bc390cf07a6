"""alerts/alertmanager.yml with the real Alertmanager 0.25 from Debian: amtool and end to end."""
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from tests.pipeline.alertmanager_harness import (
    AM_CONFIG, Alertmanager, Recorder, require_tool, ruler_alert, running_alertmanager, seconds, wait_until,
)

CRITICAL, WARNING = "critical", "warning"
REFRESH = "BasecampTokenRefreshSuccessRateLow"
NO_COMPLETIONS = "BasecampOAuthNoCompletions"
PAGER, LEAD = "/pagerduty/oncall-critical", "/pagerduty/engineering-lead"
SLACK_ALERTS, SLACK_MONITORING = "/slack/oncall-critical", "/slack/slack-monitoring"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("amtool"), *args], capture_output=True, text=True, timeout=30)


def test_amtool_check_config() -> None:
    result = amtool("check-config", str(AM_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", f"alertname={REFRESH}"], "oncall-critical,engineering-lead"),
        (["severity=critical", f"alertname={NO_COMPLETIONS}"], "oncall-critical,engineering-lead"),
        (["severity=warning", "alertname=BasecampRateLimited"], "slack-monitoring"),
        (["severity=info", "alertname=BasecampInfo"], "dashboard-only"),
        (["alertname=NoSeverity"], "dashboard-only"),
    ],
)
def test_amtool_routes(labels: list[str], receivers: str) -> None:
    result = amtool("config", "routes", "test", f"--config.file={AM_CONFIG}", f"--verify.receivers={receivers}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


RECEIVERS_BY_SEVERITY = {CRITICAL: "oncall-critical,engineering-lead", WARNING: "slack-monitoring"}


def _project_alerts() -> list[tuple[str, str]]:
    """(alertname, severity) of every alerting rule in alerts/basecamp-alerts.yaml."""
    groups = yaml.safe_load((AM_CONFIG.parent / "basecamp-alerts.yaml").read_text())["groups"]
    return sorted({(rule["alert"], rule["labels"]["severity"]) for group in groups for rule in group["rules"]})


def test_every_project_alert_routes_by_its_severity() -> None:
    alerts = _project_alerts()
    assert alerts
    for alertname, severity in alerts:
        expected = RECEIVERS_BY_SEVERITY[severity]
        result = amtool("config", "routes", "test", f"--config.file={AM_CONFIG}", f"--verify.receivers={expected}",
                        f"alertname={alertname}", f"severity={severity}")
        assert result.returncode == 0, f"{alertname}/{severity}: {result.stdout}{result.stderr}"


def test_escalation_route_waits_one_hour() -> None:
    critical = yaml.safe_load(AM_CONFIG.read_text())["route"]["routes"][0]
    lead = next(route for route in critical["routes"] if route["receiver"] == "engineering-lead")
    assert seconds(lead["group_wait"]) == 3600


@pytest.fixture
def outside_hours(tmp_path: Path) -> Iterator[tuple[Alertmanager, Recorder]]:
    yield from running_alertmanager(tmp_path, inside_business_hours=False)


@pytest.fixture
def inside_hours(tmp_path: Path) -> Iterator[tuple[Alertmanager, Recorder]]:
    yield from running_alertmanager(tmp_path, inside_business_hours=True)


@pytest.mark.slow
def test_routing_inhibition_escalation_and_muting_outside_business_hours(outside_hours: tuple[Alertmanager, Recorder]) -> None:
    manager, recorder = outside_hours
    posted = time.monotonic()
    manager.post([
        ruler_alert(REFRESH, CRITICAL),
        ruler_alert(REFRESH, WARNING),
        ruler_alert("BasecampRateLimited", WARNING, event="basecamp_api_request"),
        ruler_alert("BasecampInfoOnly", "info"),
        ruler_alert(NO_COMPLETIONS, CRITICAL),
    ])
    assert wait_until(lambda: recorder.to(LEAD), timeout_s=20), "engineering lead never escalated to"

    def mentions(path: str, text: str) -> bool:
        return any(text in d.text for d in recorder.to(path))

    # critical -> PagerDuty + Slack #alerts
    assert mentions(PAGER, REFRESH) and mentions(SLACK_ALERTS, REFRESH)
    assert all(d.body["channel"] == "#alerts" for d in recorder.to(SLACK_ALERTS))
    assert all(d.body["routing_key"] == "key-oncall-critical" for d in recorder.to(PAGER))
    assert all('"severity": "critical"' in d.text for d in recorder.to(PAGER))
    # warning -> Slack #monitoring, and the warning of an alert that is also critical is inhibited
    assert mentions(SLACK_MONITORING, "BasecampRateLimited")
    assert all(d.body["channel"] == "#monitoring" for d in recorder.to(SLACK_MONITORING))
    assert not mentions(SLACK_MONITORING, REFRESH)
    # info -> nowhere
    assert not any("BasecampInfoOnly" in d.text for d in recorder.deliveries)
    # escalation only after the (scaled) hour: 1 h / 720 = 5 s
    lead = recorder.to(LEAD)
    assert mentions(LEAD, REFRESH) and lead[0].at - posted >= 4.5
    assert all(d.body["routing_key"] == "key-engineering-lead" for d in lead)
    assert min(d.at for d in recorder.to(PAGER)) - posted < 4
    # BasecampOAuthNoCompletions is muted outside business hours, everywhere
    assert not any(NO_COMPLETIONS in d.text for d in recorder.deliveries)


@pytest.mark.slow
def test_alert_firing_for_over_an_hour_escalates_at_once(inside_hours: tuple[Alertmanager, Recorder]) -> None:
    """group_wait counts from the alert's startsAt: firing for more than the (scaled) hour -> lead now."""
    manager, recorder = inside_hours
    posted = time.monotonic()
    manager.post([ruler_alert("BasecampStatusCheckSlow", CRITICAL, started_ago=timedelta(seconds=30))])
    assert wait_until(lambda: recorder.to(LEAD), timeout_s=10)
    assert recorder.to(LEAD)[0].at - posted < 4


@pytest.mark.slow
def test_no_completions_is_delivered_inside_business_hours(inside_hours: tuple[Alertmanager, Recorder]) -> None:
    manager, recorder = inside_hours
    manager.post([ruler_alert(NO_COMPLETIONS, CRITICAL)])
    assert wait_until(
        lambda: any(NO_COMPLETIONS in d.text for d in recorder.to(PAGER))
        and any(NO_COMPLETIONS in d.text for d in recorder.to(SLACK_ALERTS)),
        timeout_s=10,
    ), [d.path for d in recorder.deliveries]
