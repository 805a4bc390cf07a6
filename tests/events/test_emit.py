"""The FR-016 emitter: record shape, levels, redaction, file output and rotation."""
import io
import json
import logging
import os
from pathlib import Path

import jsonschema
import pytest

from app.events import ErrorType, Event, Level, Status, configure, emit, redact
from app.events.schema import SCHEMA_PATH, build_schema
from tests.support.log_capture import CAPTURED

SCHEMA = json.loads(SCHEMA_PATH.read_text())


@pytest.fixture
def stream():
    buf = io.StringIO()
    configure(buf)
    yield buf
    configure(None)


def lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_committed_schema_is_generated_from_catalogue():
    assert json.loads(SCHEMA_PATH.read_text()) == build_schema(), "run `make generate`"


def test_record_has_every_field_and_validates(stream):
    emit(Event.TOKEN_REFRESH, status=Status.SUCCESS, user_id=7, account_id=888888,
         message="Basecamp token refresh successful | user_id=7 | account_id=888888",
         duration_ms=12.3456, attempt=1, max_retries=3, http_status=200, consecutive_failures=0)
    (record,) = lines(stream)
    jsonschema.validate(record, SCHEMA)
    assert record["account_id"] == "888888"
    assert record["level"] == "INFO"
    assert record["duration_ms"] == 12.346
    assert record["metadata"] == {"attempt": 1, "max_retries": 3, "http_status": 200, "consecutive_failures": 0}
    assert record["timestamp"].endswith("Z")


def test_failure_defaults_to_error_and_level_can_be_set(stream):
    emit(Event.OAUTH_CONNECT, status=Status.FAILURE, user_id=1, message="m",
         error_type=ErrorType.INVALID_STATE, error="state mismatch")
    emit(Event.OAUTH_CONNECT, status=Status.FAILURE, user_id=1, message="m", level=Level.WARNING,
         error_type=ErrorType.ACCOUNT_ALREADY_CONNECTED)
    first, second = lines(stream)
    assert (first["level"], second["level"]) == ("ERROR", "WARNING")
    for record in (first, second):
        jsonschema.validate(record, SCHEMA)


@pytest.mark.parametrize("text, secret", [
    ("POST failed: refresh_token=abc123&client_secret=s3cr3t", "abc123"),
    ("POST failed: refresh_token=abc123&client_secret=s3cr3t", "s3cr3t"),
    ('body {"access_token": "tok-987", "expires_in": 10}', "tok-987"),
    ("Authorization: Bearer eyJhbGciOi.xyz", "eyJhbGciOi.xyz"),
    ("callback ?code=c0de42&state=st4te", "c0de42"),
    ("callback ?code=c0de42&state=st4te", "st4te"),
])
def test_redact_removes_secret_shaped_values(text, secret):
    assert secret not in redact(text)
    assert "[REDACTED]" in redact(text)


def test_error_and_message_are_redacted_in_the_line(stream):
    emit(Event.API_REQUEST, status=Status.FAILURE, message="refresh_token=rt-1 failed",
         error="Bearer at-1 rejected", endpoint="token")
    raw = stream.getvalue()
    assert "rt-1" not in raw and "at-1" not in raw


def test_file_output_survives_rotation(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    configure(None, str(path))
    try:
        emit(Event.DISCONNECT, status=Status.SUCCESS, user_id=1, message="one")
        os.rename(path, tmp_path / "events.jsonl.1")
        emit(Event.DISCONNECT, status=Status.SUCCESS, user_id=1, message="two")
    finally:
        configure(None)
    assert json.loads((tmp_path / "events.jsonl.1").read_text())["message"] == "one"
    assert json.loads(path.read_text())["message"] == "two"


def test_events_do_not_reach_the_root_logger(stream):
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        emit(Event.STATUS_CHECK, status=Status.SUCCESS, message="x", cache_hit=True)
    finally:
        logging.getLogger().removeHandler(handler)
    assert seen == [] and len(lines(stream)) == 1


def test_the_log_guard_watches_tests_outside_tests_app(request: pytest.FixtureRequest) -> None:
    """tests/conftest.py installs the guard for every test, not only for those of tests/app."""
    assert {"root_log_capture", "log_guard"} <= set(request.fixturenames)
    logging.getLogger("anything").warning("seen by the guard")
    assert CAPTURED.other.lines[-1] == "anything WARNING seen by the guard"
