"""The log guard itself: it must catch a leaked secret and a record that breaks the schema."""
from __future__ import annotations

import json

import pytest

from app.events import Event, Status, configure, emit
from tests.support.log_capture import CAPTURED, check_lines


def _line(**changes) -> str:
    record = {"timestamp": "2026-01-01T00:00:00.000000Z", "level": "INFO", "event": "basecamp_disconnect",
              "user_id": 1, "account_id": "1", "status": "success", "duration_ms": None, "error": None,
              "error_type": None, "message": "Basecamp disconnected", "metadata": {
                  "attempt": None, "max_retries": None, "http_status": None}}
    record.update(changes)
    return json.dumps(record)


def test_guard_accepts_a_valid_record_and_rejects_a_bad_one():
    check_lines([_line()], [], set())
    with pytest.raises(AssertionError, match="schema"):
        check_lines([_line(level="DEBUG")], [], set())
    with pytest.raises(AssertionError, match="schema"):
        check_lines([_line(extra_field=1)], [], set())


def test_guard_catches_a_secret_in_any_line():
    with pytest.raises(AssertionError, match="secret"):
        check_lines([_line(message="token abc123secret")], [], {"abc123secret"})
    with pytest.raises(AssertionError, match="secret"):
        check_lines([], ["werkzeug GET /callback?code=abc123secret"], {"abc123secret"})


def test_emitter_redacts_secret_shaped_text_and_the_records_validate():
    configure(stream=CAPTURED.events)
    start = len(CAPTURED.events.lines)
    emit(Event.DISCONNECT, status=Status.SUCCESS, message="Basecamp disconnected | user_id=1", user_id=1,
         error="refresh_token=zzz-leak Bearer yyy-leak")
    assert len(CAPTURED.events.lines) == start + 1
    check_lines(CAPTURED.events.lines[start:], [], {"zzz-leak", "yyy-leak"})


def test_fixtures_and_helpers_share_one_capture(events):
    from tests.app import conftest

    assert type(events) is conftest.EventLog  # one conftest module: helpers feed the scanned capture
