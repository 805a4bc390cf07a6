"""Checks for large FR-016 outputs (thousands of lines, thousands of tokens), where the log
guard's substring scan (every secret against every line) would take minutes."""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any

from tests.support.log_capture import VALIDATOR

_WORD = re.compile(r"[A-Za-z0-9_\-]{12,}")


def parse_events(text: str) -> list[dict[str, Any]]:
    """The FR-016 records of `text`, each validated against the schema."""
    records = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            errors = list(VALIDATOR.iter_errors(record))
            assert not errors, f"FR-016 line violates the schema: {errors[0].message}\n{line}"
            records.append(record)
    return records


def secrets_found(texts: Iterable[str], known: set[str]) -> int:
    """How many URL-safe words of `texts` are known secrets. Tokens, codes, states, keys and
    passwords here are all URL-safe words (base64 keys compared without their `=` padding), so
    a set intersection finds them in time linear in the text, whatever the number of secrets."""
    wanted = {secret.rstrip("=") for secret in known}
    return sum(len(set(_WORD.findall(text)) & wanted) for text in texts)


def timestamp(record: dict[str, Any]) -> float:
    """The record's time in epoch seconds."""
    return dt.datetime.fromisoformat(record["timestamp"]).timestamp()
