"""Read the `data` object of Loki's `/loki/api/v1/query_range` answer: both sources produce it.

Shapes (Loki HTTP API): `streams` results are `{"stream": {labels}, "values": [["<ns>", "<line>"], …]}`;
`matrix` results are `{"metric": {labels}, "values": [[<unix seconds>, "<value>"], …]}`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class LokiDataError(ValueError):
    """The answer is not in the shape Loki documents for the query."""


@dataclass(frozen=True)
class LogEntry:
    """One log line of a `streams` result."""

    ts_ns: int
    labels: tuple[tuple[str, str], ...]
    line: str


@dataclass(frozen=True)
class Points:
    """One series of a `matrix` result: labels and (unix seconds, value) pairs."""

    labels: tuple[tuple[str, str], ...]
    values: tuple[tuple[float, float], ...]


def _result(data: Mapping[str, Any], result_type: str) -> list[Mapping[str, Any]]:
    got = data.get("resultType")
    if got != result_type:
        raise LokiDataError(f"expected resultType {result_type!r}, got {got!r}")
    result = data.get("result")
    if not isinstance(result, list):
        raise LokiDataError("`result` is not a list")
    return result


def _labels(obj: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    labels = obj.get(key)
    if not isinstance(labels, Mapping):
        raise LokiDataError(f"`{key}` is not an object")
    return tuple(sorted((str(k), str(v)) for k, v in labels.items()))


def entries(data: Mapping[str, Any]) -> list[LogEntry]:
    """Every entry of a `streams` result, in answer order."""
    out: list[LogEntry] = []
    for stream in _result(data, "streams"):
        labels = _labels(stream, "stream")
        for value in stream.get("values", []):
            try:
                out.append(LogEntry(int(value[0]), labels, str(value[1])))
            except (TypeError, ValueError, IndexError) as exc:
                raise LokiDataError(f"bad stream value {value!r}") from exc
    return out


def series(data: Mapping[str, Any]) -> list[Points]:
    """Every series of a `matrix` result."""
    out: list[Points] = []
    for item in _result(data, "matrix"):
        try:
            values = tuple((float(t), float(v)) for t, v in item.get("values", []))
        except (TypeError, ValueError) as exc:
            raise LokiDataError(f"bad matrix values {item.get('values')!r}") from exc
        out.append(Points(_labels(item, "metric"), values))
    return out
