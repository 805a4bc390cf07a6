"""Fault: Alertmanager (Debian's) restarted while notifications are pending.

Alertmanager keeps no alerts across a restart, only its notification log and silences
(--storage.path, kept here). The alerts come back because Loki's ruler, like Prometheus,
re-sends every active alert to Alertmanager each evaluation (at most every `resend_delay`,
1 min by default; 1 s here, the harness scaling every wait down) with its original startsAt.
So: a page still waiting on group_wait and an escalation still waiting on its hour both arrive
after the restart, and the page already sent is not sent again early (the log was kept).
"""
from __future__ import annotations

import threading
import time
import urllib.error
from pathlib import Path

from tests.pipeline.alertmanager_harness import (
    Alertmanager, Recorder, make_test_copy, ruler_alert, seconds, wait_until,
)

RESEND_S = 1.0
ALREADY_PAGED, PENDING = "BasecampTokenRefreshSuccessRateLow", "BasecampOAuthNoCompletions"
PAGER, LEAD = "/pagerduty/oncall-critical", "/pagerduty/engineering-lead"


class Ruler:
    """Re-sends the active alerts to whichever Alertmanager is current, every RESEND_S, as Loki's ruler does."""

    def __init__(self) -> None:
        self.alerts: list[dict] = []
        self.manager: Alertmanager | None = None
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(RESEND_S):
            self.send()

    def send(self) -> None:
        manager = self.manager
        if manager is None or not self.alerts:
            return
        try:
            manager.post(list(self.alerts))
        except (urllib.error.URLError, OSError):
            self.refused += 1  # down: the next evaluation sends again

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _first(recorder: Recorder, path: str, alertname: str, after: float = 0.0) -> float | None:
    times = [d.at for d in recorder.to(path) if alertname in d.text and d.at >= after]
    return min(times) if times else None


def test_alertmanager_restart_with_pending_alerts(tmp_path: Path, reliability_report) -> None:
    recorder, ruler = Recorder(), Ruler()
    config = make_test_copy(recorder.url, tmp_path, inside_business_hours=True)
    repeat_s = seconds(config["route"]["routes"][0]["repeat_interval"])
    manager = Alertmanager(config, tmp_path)
    try:
        ruler.manager = manager
        posted = time.monotonic()
        ruler.alerts = [ruler_alert(ALREADY_PAGED, "critical")]
        ruler.send()
        assert wait_until(lambda: _first(recorder, PAGER, ALREADY_PAGED), timeout_s=10), "first page never sent"
        ruler.alerts.append(ruler_alert(PENDING, "critical"))
        ruler.send()
        manager.stop()  # at once: the new alert's page (group_wait) and the escalation (1 h) are pending
        stopped = time.monotonic()
        manager = Alertmanager(config, tmp_path)  # same --storage.path
        ruler.manager = manager
        restarted = time.monotonic()
        arrived = wait_until(lambda: _first(recorder, PAGER, PENDING) and _first(recorder, LEAD, ALREADY_PAGED),
                             timeout_s=20)
        pending_at, lead_at = _first(recorder, PAGER, PENDING), _first(recorder, LEAD, ALREADY_PAGED)
        first_page = _first(recorder, PAGER, ALREADY_PAGED)
        repeats = [d.at for d in recorder.to(PAGER) if ALREADY_PAGED in d.text and d.at > first_page]
    finally:
        ruler.stop()
        manager.stop()
        recorder.stop()
    early_repeat = [t for t in repeats if t - first_page < repeat_s * 0.9]
    passed = bool(arrived and pending_at and pending_at > stopped and lead_at and lead_at > restarted
                  and not early_repeat)
    shown = (lambda t: f"{t - posted:.1f} s" if t else "never")
    reliability_report.record(
        "Faults", "Alertmanager restarted while notifications are pending",
        "SIGTERM and start again with the same --storage.path (notification log, silences); alerts re-sent every "
        f"{RESEND_S:g} s as Loki's ruler does (resend_delay, scaled); waits scaled 720x",
        "the pending page and the pending 1 h escalation arrive after the restart; the page sent before it is not "
        "repeated before repeat_interval",
        f"stopped at {stopped - posted:.1f} s, up again at {restarted - posted:.1f} s ({ruler.refused} re-sends "
        f"refused meanwhile); pending page at {shown(pending_at)}, escalation at {shown(lead_at)}; "
        f"early repeats of the first page: {len(early_repeat)}",
        "none: both pending notifications delivered" if pending_at and lead_at else "pending notification lost",
        passed)
    assert passed
