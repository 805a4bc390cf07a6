"""Run Vector's FR-016 remap program (fr016.vrl) in Python through pyvrl.

`remap_line` gives, for one line of the event log, what the Loki sink in vector.yaml
sends: the stream labels, the entry time in nanoseconds and the line as Loki stores it.
"""
import json
import os
import threading
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import pyvrl

VRL_PATH = Path(__file__).with_name("fr016.vrl")
ENV_VAR = "DEPLOY_ENV"
DEFAULT_ENV = "dev"
LABELS_FIELD = "_labels"
_ABORT_PREFIX = "remap failure: "
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_env_lock = threading.Lock()


class DeadLetter(Exception):
    """The line is not a valid FR-016 record: Vector routes it to the dead-letter file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@cache
def transform() -> pyvrl.Transform:
    """The compiled fr016.vrl (compiled once per process)."""
    return pyvrl.Transform(VRL_PATH.read_text())


def vector_timestamp(moment: datetime) -> str:
    """RFC 3339 as Vector's JSON encoder writes a timestamp (chrono `SecondsFormat::AutoSi`, `Z`)."""
    base = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    micros = moment.microsecond
    if micros == 0:
        return base + "Z"
    if micros % 1000 == 0:
        return f"{base}.{micros // 1000:03d}Z"
    return f"{base}.{micros:06d}Z"


def _remap(line: str) -> dict:
    try:
        return transform().remap({"message": line})
    except ValueError as exc:
        raise DeadLetter(str(exc).removeprefix(_ABORT_PREFIX)) from None


def _run(line: str, env: str) -> dict:
    """Run the program as Vector would with `DEPLOY_ENV=env` (fr016.vrl reads it; unset means dev)."""
    with _env_lock:
        previous = os.environ.get(ENV_VAR)
        if (previous or DEFAULT_ENV) == env:
            return _remap(line)
        os.environ[ENV_VAR] = env
        try:
            return _remap(line)
        finally:
            if previous is None:
                del os.environ[ENV_VAR]
            else:
                os.environ[ENV_VAR] = previous


def remap_line(line: str, env: str = DEFAULT_ENV) -> tuple[dict[str, str], int, str]:
    """Return (stream labels, event time in ns, the line as Loki stores it) for one log line.

    Raises DeadLetter when fr016.vrl aborts. The line is the sink's `codec: json` of the
    record without `_labels`: compact, object keys sorted as Vector's (BTreeMap) objects are,
    and pyvrl's dicts already are. pyvrl hands timestamps over as Python datetimes, so
    times are exact to the microsecond.
    """
    record = _run(line, env)
    labels = record.pop(LABELS_FIELD)
    moment = record["timestamp"]
    record["timestamp"] = vector_timestamp(moment)
    time_ns = (moment - _EPOCH) // _MICROSECOND * 1000
    return labels, time_ns, json.dumps(record, separators=(",", ":"), ensure_ascii=False)
