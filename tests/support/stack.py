"""The service as production runs it: gunicorn with APP_ENV=production on loopback, one or more
app processes on one database, each with its own event log; stopped with the ExitStack."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from app import RedactFilter
from benchmarks.app_bench import _free_port, _start, gunicorn_command
from tests.app.conftest import FERNET_KEY, ROOT, SECRET_KEY
from tests.support.logscan import parse_events, secrets_found


@dataclass
class App:
    """One gunicorn app process group: its URL, event log and stdout log."""

    url: str
    event_log: Path
    stdout_log: Path


@dataclass
class Stack:
    """App processes over one database; `env` is what a `flask basecamp` subprocess needs."""

    env: dict[str, str]
    apps: list[App] = field(default_factory=list)

    def cli(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        """Start `flask basecamp ARGS` on the same database (stdout: FR-016 events)."""
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "basecamp", *args], cwd=ROOT,
                                env={**self.env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def check_logs(self, known: set[str]) -> list[dict]:
        """Every app's output: FR-016 lines valid, no `known` secret in any line; returns the events.
        (Checked here, not handed to the log guard, whose scan is lines x secrets: minutes at this volume.)"""
        records: list[dict] = []
        for app in self.apps:
            output = app.stdout_log.read_text()
            records += parse_events("\n".join(line for line in output.splitlines() if line.startswith("{")))
            texts = [output, app.event_log.read_text() if app.event_log.exists() else ""]
            leaked = secrets_found(texts, known)
            assert not leaked, f"{leaked} secret(s) in the output of {app.url}"
        return records


def production_env(tmp: Path, sim_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """APP_ENV=production with the test keys (the log guard knows them as secrets)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("BASECAMP_", "STATUS_", "EVENT_"))}
    return {**inherited, "APP_ENV": "production", "SECRET_KEY": SECRET_KEY, "TOKEN_ENCRYPTION_KEYS": FERNET_KEY,
            "DATABASE_URL": database_url, "BASECAMP_LAUNCHPAD_URL": sim_url, "EVENT_LOG": str(tmp / "cli-events.jsonl"),
            "BASECAMP_BACKOFF_BASE": "0.05", "BASECAMP_BACKOFF_MAX": "0.5", "BASECAMP_TIMEOUT": "5",
            "FLASK_APP": "wsgi", **extra}


def quiet_simulator_log() -> None:
    """The in-process simulator's request log (werkzeug) shows states and codes in URLs: redact
    it as the app does its own (create_app installs this filter, but no app runs in-process here)."""
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactFilter) for f in werkzeug.filters):
        werkzeug.addFilter(RedactFilter())


@contextmanager
def simulator_requests_unlogged() -> Iterator[None]:
    """Keep the in-process simulator's request lines (one per refresh: thousands) out of the
    captured logs, whose end-of-session scan is lines x secrets; they are the simulator's, not ours."""
    logger = logging.getLogger("werkzeug")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "basecamp", "migrate"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def start_stack(stack: ExitStack, tmp: Path, env: dict[str, str], processes: int = 1, workers: int | None = None) -> Stack:
    """Migrate, then `processes` gunicorn masters with gunicorn.conf.py (`workers` overriding its
    process count) sharing one BASECAMP_REDIRECT_URI (the first's), as behind a load balancer."""
    quiet_simulator_log()
    migrate(env)
    ports = [_free_port() for _ in range(processes)]
    redirect = f"http://127.0.0.1:{ports[0]}/integrations/basecamp/callback"
    result = Stack(env={**env, "BASECAMP_REDIRECT_URI": redirect})
    for index, port in enumerate(ports):
        app = App(f"http://127.0.0.1:{port}", tmp / f"events-{index}.jsonl", tmp / f"gunicorn-{index}.log")
        app_env = {**result.env, "EVENT_LOG": str(app.event_log)} | ({"GUNICORN_WORKERS": str(workers)} if workers else {})
        _start(stack, gunicorn_command(port), app_env, app.stdout_log)
        result.apps.append(app)
    for app in result.apps:
        wait_http(f"{app.url}/livez")
    return result


def wait_http(url: str, timeout: float = 30) -> None:
    """Until `url` answers (a booting gunicorn may accept and not answer yet: retried too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {timeout:.0f} s")
