"""fr016.vrl, run through pyvrl exactly as Vector runs it, on FR-016 records and bad lines."""
import json
import os
import re
from datetime import datetime, timezone

import pytest

from app.events.catalogue import ErrorType, Event, Level, Status
from app.events.schema import build_schema
from logpipe.vector.remap import ENV_VAR, VRL_PATH, DeadLetter, remap_line, vector_timestamp
from tests.pipeline.fr016_records import every_event_and_level, record

LABEL_KEYS = {"app", "env", "level", "event"}
VRL = VRL_PATH.read_text()


def _alternatives(field: str) -> list[str]:
    """The values fr016.vrl accepts for `field` (its `r'^(a|b|...)$'` check)."""
    pattern = rf'string\(record\.{field}\) \?\? "", r\'\^\(([^)]*)\)\$\''
    found = re.search(pattern, VRL)
    assert found, f"fr016.vrl has no enumeration check for {field}"
    return found.group(1).split("|")


@pytest.mark.parametrize(
    ("field", "enum"),
    [("level", Level), ("event", Event), ("status", Status), ("error_type", ErrorType)],
)
def test_vrl_enumerations_equal_the_catalogue(field: str, enum: type) -> None:
    assert _alternatives(field) == [member.value for member in enum]


def test_vrl_field_set_equals_the_schema() -> None:
    found = re.search(r"^fields = (\[.*\])$", VRL, re.MULTILINE)
    assert found
    assert json.loads(found.group(1)) == sorted(build_schema()["required"])


@pytest.mark.parametrize("rec", every_event_and_level(), ids=lambda r: f"{r['event']}-{r['level']}")
def test_every_event_and_level_is_remapped(rec: dict) -> None:
    labels, time_ns, line = remap_line(json.dumps(rec))
    assert labels == {
        "app": "basecamp-integration", "env": "dev", "level": rec["level"], "event": rec["event"],
    }
    assert json.loads(line) == rec  # the line is the record itself, timestamp included
    expected = datetime(2026, 10, 27, 12, 0, 0, 250000, tzinfo=timezone.utc)
    assert time_ns == int(expected.timestamp()) * 10**9 + 250 * 10**6


def test_labels_are_exactly_four_and_never_ids() -> None:
    labels, _, _ = remap_line(json.dumps(record(Event.OAUTH_CONNECT, Level.INFO)))
    assert set(labels) == LABEL_KEYS
    assert "123" not in labels.values() and "888888" not in labels.values()


def test_line_is_compact_sorted_json_like_vectors_encoder() -> None:
    rec = record(Event.STATUS_CHECK, Level.INFO, message="Integration status check | é ✓")
    _, _, line = remap_line(json.dumps(rec))
    assert line == json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_env_label_defaults_to_dev_and_follows_the_environment() -> None:
    line = json.dumps(record(Event.DISCONNECT, Level.INFO))
    assert remap_line(line)[0]["env"] == "dev"
    assert remap_line(line, env="production")[0]["env"] == "production"
    assert os.environ.get(ENV_VAR) is None  # the override does not leak


@pytest.mark.parametrize(
    ("stamp", "expected_ns_fraction", "written"),
    [
        ("2026-10-27T12:00:00Z", 0, "2026-10-27T12:00:00Z"),
        ("2026-10-27T12:00:00.5Z", 500_000_000, "2026-10-27T12:00:00.500Z"),
        ("2026-10-27T12:00:00.123456Z", 123_456_000, "2026-10-27T12:00:00.123456Z"),
    ],
)
def test_event_time_comes_from_timestamp(stamp: str, expected_ns_fraction: int, written: str) -> None:
    _, time_ns, line = remap_line(json.dumps(record(Event.API_REQUEST, Level.WARNING, timestamp=stamp)))
    whole = int(datetime(2026, 10, 27, 12, tzinfo=timezone.utc).timestamp()) * 10**9
    assert time_ns == whole + expected_ns_fraction
    assert json.loads(line)["timestamp"] == written


def test_vector_timestamp_uses_autosi_precision() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc)
    assert vector_timestamp(moment) == "2026-01-02T03:04:05.120Z"
    assert vector_timestamp(moment.replace(microsecond=7)) == "2026-01-02T03:04:05.000007Z"


def _without(field: str) -> str:
    rec = record(Event.TOKEN_REFRESH, Level.ERROR)
    del rec[field]
    return json.dumps(rec)


def _with(**fields: object) -> str:
    rec = record(Event.TOKEN_REFRESH, Level.ERROR)
    rec.update(fields)
    return json.dumps(rec)


BAD_LINES = {
    "invalid JSON": '{"timestamp": "2026-10-27T12:00:00Z", "level": ',
    "not an object": "[1, 2]",
    "empty line": "",
    "plain text": "Basecamp token refresh failed | user_id=1",
    "unknown field": _with(extra="x"),
    "unknown event": _with(event="basecamp_unknown"),
    "unknown level": _with(level="DEBUG"),
    "unknown status": _with(status="ok"),
    "unknown error_type": _with(error_type="teapot"),
    "user_id as string": _with(user_id="123"),
    "user_id zero": _with(user_id=0),
    "account_id as number": _with(account_id=888888),
    "duration_ms negative": _with(duration_ms=-1),
    "duration_ms as string": _with(duration_ms="250"),
    "error as object": _with(error={"m": 1}),
    "empty message": _with(message=""),
    "metadata not an object": _with(metadata=[1]),
    "metadata without http_status": _with(metadata={"attempt": 1, "max_retries": 3}),
    "metadata attempt as float": _with(metadata={"attempt": 1.5, "max_retries": 3, "http_status": 200}),
    "timestamp without Z": _with(timestamp="2026-10-27T12:00:00+00:00"),
    "timestamp impossible date": _with(timestamp="2026-13-40T12:00:00Z"),
    "timestamp as number": _with(timestamp=1793102400),
} | {f"missing {field}": _without(field) for field in build_schema()["required"]}


@pytest.mark.parametrize("line", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_invalid_lines_are_dead_letters(line: str) -> None:
    with pytest.raises(DeadLetter) as caught:
        remap_line(line)
    assert caught.value.reason


def test_dead_letter_reason_names_the_problem() -> None:
    with pytest.raises(DeadLetter, match=r"missing \[\"status\"\]"):
        remap_line(_without("status"))
    with pytest.raises(DeadLetter, match="event: unknown"):
        remap_line(BAD_LINES["unknown event"])
