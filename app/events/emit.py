"""Write FR-016 events: one JSON object per line, to stdout and optionally a file.

The event stream is its own logger (`fr016`, not propagated), so server and
framework logs never mix into it.
"""
from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
import time
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from app.events.catalogue import ErrorType, Event, Level, Status

LOGGER_NAME = "fr016"
_logger = logging.getLogger(LOGGER_NAME)
_logger.propagate = False
_logger.setLevel(logging.INFO)

_LEVELS = {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING, Level.ERROR: logging.ERROR}

# Defence in depth: error texts come from exceptions and remote bodies; strip anything secret-shaped.
_SECRET_PATTERNS = (
    re.compile(r"(?i)\b(access_token|refresh_token|client_secret|code|password|state)=[^&\s\"']+"),
    re.compile(r"(?i)(\"(?:access_token|refresh_token|client_secret|code|password)\"\s*:\s*)\"[^\"]*\""),
    re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]+"),
)


_SECRET_HINT = re.compile(r"(?i)token|secret|code|password|state=|bearer")


def redact(text: str) -> str:
    """Replace secret-shaped substrings (tokens, codes, passwords) with a marker."""
    if not _SECRET_HINT.search(text):
        return text
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}=[REDACTED]", text)
    text = _SECRET_PATTERNS[1].sub(lambda m: f'{m.group(1)}"[REDACTED]"', text)
    return _SECRET_PATTERNS[2].sub("Bearer [REDACTED]", text)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _serialize(record: dict[str, Any], **_options: Any) -> str:
    """JSON without per-call encoder construction (records hold only JSON-native values)."""
    return _ENCODER.encode(record)


class FR016Formatter(JsonFormatter):
    """Serialise exactly the FR-016 record carried on the log record, nothing else."""

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict) -> None:
        log_record.update(record.fr016)  # type: ignore[attr-defined]

    def format(self, record: logging.LogRecord) -> str:
        """Serialise once per event, however many handlers (stdout, file) write it."""
        line = getattr(record, "fr016_line", None)
        if line is None:
            line = record.fr016_line = super().format(record)  # type: ignore[attr-defined]
        return line


_second_cache: list = [None, ""]


def utc_timestamp(created: float) -> str:
    """ISO 8601 UTC with microseconds and a `Z` suffix (the per-second prefix is cached)."""
    second = int(created)
    if _second_cache[0] != second:
        _second_cache[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_second_cache[1]}.{int((created - second) * 1_000_000):06d}Z"


def configure(stream: IO[str] | None = sys.stdout, path: str | None = None) -> None:
    """Send events to `stream` (None: no stream) and, when `path` is set, append them to that file.

    The file handler reopens the file when it is rotated away (WatchedFileHandler).
    """
    for handler in list(_logger.handlers):
        _logger.removeHandler(handler)
        handler.close()
    formatter = FR016Formatter(json_serializer=_serialize)
    handlers: list[logging.Handler] = []
    if stream is not None:
        handlers.append(logging.StreamHandler(stream))
    if path:
        handlers.append(logging.handlers.WatchedFileHandler(path, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        _logger.addHandler(handler)


def emit(
    event: Event,
    *,
    status: Status,
    message: str,
    level: Level | None = None,
    user_id: int | None = None,
    account_id: str | int | None = None,
    duration_ms: float | None = None,
    error: str | None = None,
    error_type: ErrorType | None = None,
    attempt: int | None = None,
    max_retries: int | None = None,
    http_status: int | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    """Write one FR-016 record and return it.

    `level` defaults to INFO for a success and ERROR for a failure; `message` is
    the spec's human pattern with its values filled in; extra keyword arguments
    go into `metadata` beside `attempt`, `max_retries` and `http_status`.
    """
    if level is None:
        level = Level.INFO if status is Status.SUCCESS else Level.ERROR
    record = {
        "timestamp": None,
        "level": level.value,
        "event": event.value,
        "user_id": user_id,
        "account_id": None if account_id is None else str(account_id),
        "status": status.value,
        "duration_ms": None if duration_ms is None else round(duration_ms, 3),
        "error": None if error is None else redact(error),
        "error_type": None if error_type is None else error_type.value,
        "message": redact(message),
        "metadata": {"attempt": attempt, "max_retries": max_retries, "http_status": http_status, **metadata},
    }
    log_record = _logger.makeRecord(LOGGER_NAME, _LEVELS[level], __file__, 0, message, (), None)
    record["timestamp"] = utc_timestamp(log_record.created)
    log_record.fr016 = record  # type: ignore[attr-defined]
    _logger.handle(log_record)
    return record
