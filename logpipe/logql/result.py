"""Query results and their rendering as the `data` object of Loki's HTTP API."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from logpipe.logql.timeutil import format_timestamp, format_value


@dataclass
class Sample:
    labels: dict[str, str]
    value: float


@dataclass
class Series:
    labels: dict[str, str]
    points: list[tuple[int, float]]  # (ts_ns, value)


@dataclass
class LogStream:
    labels: dict[str, str]
    entries: list[tuple[int, str]]  # (ts_ns, line), in the query's direction


@dataclass
class QueryResult:
    """result_type "vector" (samples), "scalar" (scalar), "matrix" (series) or "streams" (streams)."""

    result_type: str
    time_ns: int = 0
    samples: list[Sample] = field(default_factory=list)
    scalar: float | None = None
    series: list[Series] = field(default_factory=list)
    streams: list[LogStream] = field(default_factory=list)

    def to_loki(self) -> dict:
        """{"resultType": ..., "result": [...]} exactly as Loki's /query and /query_range print it."""
        if self.result_type == "scalar":
            result: object = [format_timestamp(self.time_ns), format_value(self.scalar)]
        elif self.result_type == "vector":
            result = [{"metric": s.labels, "value": [format_timestamp(self.time_ns), format_value(s.value)]}
                      for s in self.samples]
        elif self.result_type == "matrix":
            result = [{"metric": s.labels, "values": [[format_timestamp(t), format_value(v)] for t, v in s.points]}
                      for s in self.series]
        else:
            result = [{"stream": s.labels, "values": [[str(t), line] for t, line in s.entries]}
                      for s in self.streams]
        return {"resultType": self.result_type, "result": result}

    def to_json(self) -> str:
        """The full HTTP response body: {"status":"success","data":{...}}."""
        return json.dumps({"status": "success", "data": self.to_loki()}, ensure_ascii=False, separators=(",", ":"))


def labels_string(key: tuple) -> str:
    """Prometheus' Labels.String(): {a="1", b="2"}."""
    return "{" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in key) + "}"
