"""Build the JSON Schema of one FR-016 record from the catalogue.

`python -m app.events.schema` writes `app/events/fr016.schema.json`; a test fails
when the committed file is stale.
"""
import json
from pathlib import Path
from typing import Any

from app.events.catalogue import Endpoint, ErrorType, Event, Level, Status

SCHEMA_PATH = Path(__file__).with_name("fr016.schema.json")

_NULLABLE_STRING = {"type": ["string", "null"]}


def build_schema() -> dict[str, Any]:
    """Return the FR-016 record schema (draft 2020-12)."""
    metadata = {
        "type": "object",
        "required": ["attempt", "max_retries", "http_status"],
        "properties": {
            "attempt": {"type": ["integer", "null"], "minimum": 0},
            "max_retries": {"type": ["integer", "null"], "minimum": 0},
            "http_status": {"type": ["integer", "null"], "minimum": 100, "maximum": 599},
            "endpoint": {"enum": [e.value for e in Endpoint]},
            "retry_after": {"type": ["number", "null"], "minimum": 0},
            "consecutive_failures": {"type": "integer", "minimum": 0},
            "cache_hit": {"type": "boolean"},
            "total_accounts": {"type": "integer", "minimum": 0},
            "connected_accounts": {"type": "integer", "minimum": 0},
            "expired_accounts": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": {"type": ["string", "integer", "number", "boolean", "null"]},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://basecamp-integration.example/fr016.schema.json",
        "title": "FR-016 Basecamp authentication event",
        "type": "object",
        "required": [
            "timestamp", "level", "event", "user_id", "account_id", "status",
            "duration_ms", "error", "error_type", "message", "metadata",
        ],
        "additionalProperties": False,
        "properties": {
            "timestamp": {
                "type": "string",
                "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$",
            },
            "level": {"enum": [lv.value for lv in Level]},
            "event": {"enum": [e.value for e in Event]},
            "user_id": {"type": ["integer", "null"], "minimum": 1},
            "account_id": _NULLABLE_STRING,
            "status": {"enum": [s.value for s in Status]},
            "duration_ms": {"type": ["number", "null"], "minimum": 0},
            "error": _NULLABLE_STRING,
            "error_type": {"enum": [e.value for e in ErrorType] + [None]},
            "message": {"type": "string", "minLength": 1},
            "metadata": metadata,
        },
    }


def main() -> None:
    SCHEMA_PATH.write_text(json.dumps(build_schema(), indent=2) + "\n")


if __name__ == "__main__":
    main()
