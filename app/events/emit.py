"""Write FR-016 events: one JSON object per line, to stdout and optionally a file.

The event stream is its own logger (`fr016`, not propagated), so server and
framework logs never mix into it.
"""
from __future__ import annotations

import json
import logging
import logging.handlers
import os
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


class EventFileHandler(logging.handlers.WatchedFileHandler):
    """The event log file, reopened when rotated away (WatchedFileHandler).

    A failed write (disk full, file system gone) never reaches the caller: the event is
    missing from the file only (the stream still has it), `dropped` counts it, and stderr
    says so, at most once per NOTICE_EVERY_S, without the event's content. The file is
    reopened at the next event; a line torn by the failure is ended first, so later lines
    stay whole.
    """

    NOTICE_EVERY_S = 10.0

    def __init__(self, path: str) -> None:
        super().__init__(path, encoding="utf-8")
        self.dropped = 0
        self._torn = False
        self._last_notice = -self.NOTICE_EVERY_S

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.reopenIfNeeded()
            if self.stream is None:
                self.stream = self._open()
                self._statstream()
            if self._torn:
                self._end_torn_line()
            logging.FileHandler.emit(self, record)  # a failed write calls handleError
        except Exception:  # noqa: BLE001 (an event log failure must not fail the request)
            self.handleError(record)

    def _end_torn_line(self) -> None:
        with open(self.baseFilename, "rb") as current:
            size = current.seek(0, os.SEEK_END)
            if size:
                current.seek(size - 1)
                if current.read(1) != b"\n":
                    self.stream.write("\n")
                    self.stream.flush()
        self._torn = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging API)
        """Count the lost line, drop the stream (and its unwritten buffer), tell stderr."""
        self.dropped += 1
        self._torn = True
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass  # the buffered line is discarded with the stream
        now = time.monotonic()
        if now - self._last_notice >= self.NOTICE_EVERY_S:
            self._last_notice = now
            error = sys.exc_info()[1]
            reason = getattr(error, "strerror", None) or type(error).__name__
            sys.stderr.write(f"fr016: cannot write the event log {self.baseFilename} ({reason}); "
                             f"{self.dropped} event(s) missing from it so far\n")
            sys.stderr.flush()


def file_write_failures() -> int:
    """Events that could not be written to the EVENT_LOG file by this process (0 without one)."""
    return sum(h.dropped for h in _logger.handlers if isinstance(h, EventFileHandler))


def configure(stream: IO[str] | None = sys.stdout, path: str | None = None) -> None:
    """Send events to `stream` (None: no stream) and, when `path` is set, append them to that file.

    The file handler reopens the file when it is rotated away and survives a full disk
    (EventFileHandler).
    """
    for handler in list(_logger.handlers):
        _logger.removeHandler(handler)
        handler.close()
    formatter = FR016Formatter(json_serializer=_serialize)
    handlers: list[logging.Handler] = []
    if stream is not None:
        handlers.append(logging.StreamHandler(stream))
    if path:
        handlers.append(EventFileHandler(path))
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
