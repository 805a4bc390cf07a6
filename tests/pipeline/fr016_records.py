"""FR-016 records for the pipeline tests, each valid against app/events/fr016.schema.json."""
import json
from itertools import product
from typing import Any

from app.events.catalogue import ErrorType, Event, Level, Status
from app.events.schema import SCHEMA_PATH
from jsonschema import Draft202012Validator

VALIDATOR = Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))

_METADATA: dict[Event, dict[str, Any]] = {
    Event.API_REQUEST: {"endpoint": "api", "retry_after": None},
    Event.TOKEN_REFRESH: {"consecutive_failures": 0},
    Event.STATUS_CHECK: {"cache_hit": True},
    Event.ACCOUNT_HEALTH: {"total_accounts": 10, "connected_accounts": 9, "expired_accounts": 1},
}


def record(event: Event, level: Level, **overrides: Any) -> dict[str, Any]:
    """A schema-valid record of `event` at `level` (failure fields set unless INFO)."""
    failed = level is not Level.INFO
    rec: dict[str, Any] = {
        "timestamp": "2026-10-27T12:00:00.250Z",
        "level": level.value,
        "event": event.value,
        "user_id": 123,
        "account_id": "888888",
        "status": (Status.FAILURE if failed else Status.SUCCESS).value,
        "duration_ms": 250,
        "error": "upstream said no" if failed else None,
        "error_type": ErrorType.SERVER_ERROR.value if failed else None,
        "message": f"{event.value} | user_id=123 | account_id=888888",
        "metadata": {"attempt": 1, "max_retries": 3, "http_status": 500 if failed else 200,
                     **_METADATA.get(event, {})},
    }
    rec.update(overrides)
    VALIDATOR.validate(rec)
    return rec


def every_event_and_level() -> list[dict[str, Any]]:
    """One record for each (event, level) pair of the catalogue."""
    return [record(event, level) for event, level in product(Event, Level)]
