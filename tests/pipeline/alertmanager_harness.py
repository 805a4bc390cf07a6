"""Run Debian's real Alertmanager on loopback against a test copy of alerts/alertmanager.yml."""
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
AM_CONFIG = REPO / "alerts" / "alertmanager.yml"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
TIME_SCALE = 720  # test copy: 1 h of routing waits becomes 5 s, 30 s becomes the 0.5 s floor
MIN_WAIT_S = 0.5
_DURATION = re.compile(r"(\d+)(ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def require_tool(path_or_name: str) -> str:
    """The tool's path, or a failed test (never a skip) naming the Debian package to install."""
    found = shutil.which(path_or_name)
    if not found:
        pytest.fail(f"{path_or_name} not found: install Debian's prometheus and prometheus-alertmanager (make system-deps)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seconds(duration: str) -> float:
    """A Prometheus duration (e.g. `1h30m`, `30s`) in seconds."""
    return sum(int(n) * _UNIT_S[unit] for n, unit in _DURATION.findall(duration))


@dataclass
class Delivery:
    path: str
    body: dict[str, Any]
    at: float

    @property
    def text(self) -> str:
        return json.dumps(self.body)


@dataclass
class Recorder:
    """A loopback HTTP server standing in for Slack and PagerDuty: it records every POST."""

    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.deliveries.append(Delivery(self.path, json.loads(body), time.monotonic()))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, path: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _scale_route(route: dict[str, Any]) -> None:
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if key in route:
            route[key] = f"{max(seconds(route[key]) / TIME_SCALE, MIN_WAIT_S) * 1000:.0f}ms"
    for child in route.get("routes", []):
        _scale_route(child)


def business_hours_around_now(interval: dict[str, Any], inside: bool) -> None:
    """Replace the weekdays/times of `interval` (keeping its location) so that now is inside or outside.

    Alertmanager decides at notification time from its own clock, so the test moves the
    window, not the clock: today's weekday in the configured timezone, with a two-hour
    window around now (inside) or a one-hour window at least an hour away (outside).
    """
    now = datetime.now(ZoneInfo(interval.get("location", "UTC")))
    minute = now.hour * 60 + now.minute
    if inside:
        start, end = max(minute - 60, 0), min(minute + 60, 24 * 60)
    elif minute + 120 <= 24 * 60:
        start, end = minute + 60, minute + 120
    else:
        start, end = minute - 120, minute - 60
    interval["weekdays"] = [now.strftime("%A").lower()]
    interval["times"] = [{"start_time": f"{start // 60:02d}:{start % 60:02d}", "end_time": f"{end // 60:02d}:{end % 60:02d}"}]


def make_test_copy(recorder_url: str, workdir: Path, inside_business_hours: bool) -> dict[str, Any]:
    """alerts/alertmanager.yml with receivers pointed at the recorder, waits scaled down, hours moved."""
    config = yaml.safe_load(AM_CONFIG.read_text())
    config["templates"] = [str(AM_CONFIG.parent / pattern) for pattern in config["templates"]]
    for receiver in config["receivers"]:
        name = receiver["name"]
        for pagerduty in receiver.get("pagerduty_configs", []):
            key_file = workdir / f"{name}-routing-key"
            key_file.write_text(f"key-{name}\n")
            pagerduty["routing_key_file"] = str(key_file)
            pagerduty["url"] = f"{recorder_url}/pagerduty/{name}"
        for slack in receiver.get("slack_configs", []):
            url_file = workdir / f"{name}-slack-url"
            url_file.write_text(f"{recorder_url}/slack/{name}")
            slack["api_url_file"] = str(url_file)
    _scale_route(config["route"])
    for named in config["time_intervals"]:
        for interval in named["time_intervals"]:
            business_hours_around_now(interval, inside_business_hours)
    return config


class Alertmanager:
    """prometheus-alertmanager on 127.0.0.1 with clustering off, stopped by `stop()`."""

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        config_file = workdir / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(config))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [require_tool(ALERTMANAGER), f"--config.file={config_file}", f"--storage.path={workdir / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}", "--cluster.listen-address=",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=(workdir / "alertmanager.log").open("w"),
        )
        self._wait_ready(workdir)

    def _wait_ready(self, workdir: Path) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"alertmanager exited: {(workdir / 'alertmanager.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail("alertmanager not ready within 15 s")

    def post(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts", data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def active(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds (GET /api/v2/alerts), with their status."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ruler_alert(alertname: str, severity: str, started_ago: timedelta = timedelta(0), **labels: str) -> dict[str, Any]:
    """An alert as Loki's ruler posts it (labels, annotations, startsAt, generatorURL)."""
    return {
        "labels": {"alertname": alertname, "severity": severity, **labels},
        "annotations": {
            "summary": f"{alertname} ({severity})",
            "description": f"{alertname} at {severity}: value 0.5",
            "runbook_url": f"https://example.invalid/alerts/runbook.md#{alertname.lower()}",
        },
        "startsAt": (datetime.now().astimezone() - started_ago).isoformat(),
        "generatorURL": "http://loki:3100/loki/api/v1/rules",
    }


def wait_until(condition: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def running_alertmanager(tmp_path: Path, inside_business_hours: bool) -> Iterator[tuple[Alertmanager, Recorder]]:
    """Recorder + Alertmanager on the test copy; both stopped afterwards."""
    recorder = Recorder()
    manager = None
    try:
        manager = Alertmanager(make_test_copy(recorder.url, tmp_path, inside_business_hours), tmp_path)
        yield manager, recorder
    finally:
        if manager:
            manager.stop()
        recorder.stop()
