"""Audit a JSON-lines log file through the LogQL engine, answering in Loki's `query_range` shape."""
from __future__ import annotations

from pathlib import Path

from logpipe.audit import lokidata
from logpipe.audit.lokidata import LogEntry, Points
from logpipe.logql import LogStore, range_query


class FileSource:
    """FR-016 lines from a file; stream labels from `labels`, or else from our Vector remap program.

    `skipped` lists the (line number, reason) of lines not ingested (dead-lettered by the remap).
    """

    def __init__(self, path: str | Path, labels: dict[str, str] | None) -> None:
        self.store = LogStore.from_jsonl(path, labels)
        self.skipped = self.store.skipped

    def logs(self, query: str, start_ns: int, end_ns: int, limit: int) -> list[LogEntry]:
        """The newest `limit` entries with start <= ts < end (the engine's log range is [start, end])."""
        data = range_query(self.store, query, start_ns, end_ns - 1, 1, limit=limit, direction="backward")
        return lokidata.entries(data.to_loki())

    def matrix(self, query: str, start_ns: int, end_ns: int, step_ns: int, lookback_ns: int) -> list[Points]:
        """The range query at start, start+step, … <= end (a file has no query length limit)."""
        return lokidata.series(range_query(self.store, query, start_ns, end_ns, step_ns).to_loki())
