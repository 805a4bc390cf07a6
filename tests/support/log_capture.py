"""The suite-wide log guard: every log line of the session is captured (FR-016 lines from the
apps the tests start, and every other log record), FR-016 lines are validated against the
schema, and no secret the tests handed out (keys, passwords, codes, tokens, states) may appear
in any of them: after each test for what it logged, and at the end of the session for all.

tests/conftest.py installs the two fixtures for every test; tests/app/conftest.py feeds
CAPTURED (app event streams, subprocess output, the simulator's issued secrets)."""
from __future__ import annotations

import io
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jsonschema
import pytest
import requests
from cryptography.fernet import Fernet

from app.events.schema import SCHEMA_PATH

SCHEMA = json.loads(SCHEMA_PATH.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
FERNET_KEY = Fernet.generate_key().decode()
SECRET_KEY = secrets.token_urlsafe(32)


class LineSink(io.TextIOBase):
    """A text stream that keeps every line written to it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._partial = ""

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            *done, self._partial = self._partial.split("\n")
            self.lines.extend(line for line in done if line)
        return len(text)


class Captured:
    """Everything logged in the session: FR-016 lines, other log lines, extra texts (subprocesses, files)."""

    def __init__(self) -> None:
        self.events = LineSink()
        self.other = LineSink()
        self.texts: list[str] = []
        self.secrets: set[str] = {"sim-client-secret", FERNET_KEY, SECRET_KEY}
        self._harvesters: list[Callable[[], Iterable[str]]] = []

    def watch(self, harvester: Callable[[], Iterable[str]]) -> None:
        """Ask `harvester` after every test for the secrets it handed out since (a running simulator)."""
        self._harvesters.append(harvester)

    def unwatch(self, harvester: Callable[[], Iterable[str]]) -> None:
        """Harvest one last time and stop asking (the simulator is about to stop)."""
        self.secrets.update(harvester())
        self._harvesters.remove(harvester)

    def harvest(self) -> None:
        for harvester in self._harvesters:
            self.secrets.update(harvester())

    def event_records(self, start: int = 0) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.events.lines[start:]]

    def add_event_text(self, text: str) -> list[dict[str, Any]]:
        """Record a subprocess's stdout (FR-016 lines) for validation and the scan; return its records."""
        lines = [line for line in text.splitlines() if line.strip()]
        self.events.lines.extend(lines)
        return [json.loads(line) for line in lines]


CAPTURED = Captured()


def simulator_secrets(url: str) -> list[str]:
    """Every code and token the simulator at `url` issued since its last reset (its /_admin/secrets)."""
    response = requests.get(f"{url}/_admin/secrets", timeout=5)
    assert response.status_code == 200, response.text
    return [secret for issued in response.json().values() for secret in issued]


def check_lines(lines: list[str], texts: list[str], known_secrets: set[str]) -> None:
    """Schema-validate FR-016 lines and fail on any secret in them or in `texts`."""
    for line in lines:
        errors = sorted(VALIDATOR.iter_errors(json.loads(line)), key=str)
        assert not errors, f"FR-016 line violates the schema: {errors[0].message}\n{line}"
    for text in [*lines, *texts]:
        for secret in known_secrets:
            assert secret not in text, f"a secret handed out by the tests appears in a log line: {text[:300]}"


@pytest.fixture(scope="session", autouse=True)
def root_log_capture() -> Iterator[None]:
    """Every non-FR-016 log line (werkzeug, flask, sqlalchemy, ...) goes to CAPTURED.other too."""
    handler = logging.StreamHandler(CAPTURED.other)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield
    root.removeHandler(handler)
    root.setLevel(previous)
    check_lines(CAPTURED.events.lines, [*CAPTURED.other.lines, *CAPTURED.texts], CAPTURED.secrets)


@pytest.fixture(autouse=True)
def log_guard() -> Iterator[None]:
    """After each test: its FR-016 lines match the schema and no handed-out secret was logged."""
    start_events, start_other, start_texts = len(CAPTURED.events.lines), len(CAPTURED.other.lines), len(CAPTURED.texts)
    yield
    CAPTURED.harvest()
    check_lines(CAPTURED.events.lines[start_events:],
                [*CAPTURED.other.lines[start_other:], *CAPTURED.texts[start_texts:]], CAPTURED.secrets)
