"""Log lines in memory, kept compact: one stream per label set, timestamps and lines in parallel lists."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from logpipe.logql.errors import LogQLError
from logpipe.logql.timeutil import _second_cache as second_cache
from logpipe.logql.timeutil import parse_rfc3339


@dataclass(frozen=True)
class Entry:
    """One log line: nanosecond timestamp, the line as Loki stores it, and its stream labels."""

    ts_ns: int
    line: str
    labels: Mapping[str, str]


class Stream:
    """All lines of one label set, sorted by timestamp (stable for equal timestamps)."""

    __slots__ = ("labels", "key", "ts", "lines")

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.key = tuple(sorted(labels.items()))
        self.ts: list[int] = []
        self.lines: list[str] = []


class LogStore:
    """The log lines a query reads. `skipped` lists (line number, reason) of input lines not ingested."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.streams: dict[tuple, Stream] = {}
        self.skipped: list[tuple[int, str]] = []
        for entry in entries:
            self.add(entry.ts_ns, entry.line, dict(entry.labels))
        self.seal()

    def add(self, ts_ns: int, line: str, labels: dict[str, str]) -> None:
        key = tuple(sorted(labels.items()))
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = Stream(labels)
        stream.ts.append(ts_ns)
        stream.lines.append(line)

    def seal(self) -> None:
        """Sort every stream by timestamp; call after the last `add`."""
        for stream in self.streams.values():
            ts = stream.ts
            if any(ts[i] > ts[i + 1] for i in range(len(ts) - 1)):
                order = sorted(range(len(ts)), key=ts.__getitem__)
                stream.ts = [ts[i] for i in order]
                stream.lines = [stream.lines[i] for i in order]

    @property
    def entries(self) -> list[Entry]:
        return list(self.iter_entries())

    def iter_entries(self) -> Iterator[Entry]:
        for stream in self.streams.values():
            for ts, line in zip(stream.ts, stream.lines):
                yield Entry(ts, line, stream.labels)

    def __len__(self) -> int:
        return sum(len(s.ts) for s in self.streams.values())

    @classmethod
    def from_jsonl(cls, path: str | Path, labels: dict[str, str] | None = None) -> "LogStore":
        """Load FR-016 JSON lines. With `labels`, every line gets them and keeps its text; without,
        each line goes through our Vector remap program (logpipe.vector.remap.remap_line), and lines
        it dead-letters are listed in `skipped`."""
        remap, dead_letter = (None, None) if labels is not None else _remap_program()
        store = cls()
        fixed = None
        if labels is not None:
            fixed = store.streams[tuple(sorted(labels.items()))] = Stream(dict(labels))
        with open(path, encoding="utf-8") as fh:
            for number, raw in enumerate(fh, 1):
                line = raw.rstrip("\n").rstrip("\r")
                if not line.strip():
                    continue
                if remap is not None:
                    try:
                        stream_labels, ts_ns, stored = remap(line)
                    except dead_letter as err:
                        store.skipped.append((number, f"dead-lettered by the remap program: {err}"))
                        continue
                    store.add(ts_ns, stored, dict(stream_labels))
                    continue
                ts_ns = None
                if line.startswith('{"timestamp":"') and line[-1] == "}":  # fast path: timestamp first
                    stamp = line[14:line.find('"', 14)]
                    secs = second_cache.get(stamp[:19])
                    if secs is not None and len(stamp) == 24 and stamp[19] == "." and stamp[23] == "Z":
                        frac = stamp[20:23]
                        if frac.isdigit() and frac.isascii():
                            ts_ns = secs * 1_000_000_000 + int(frac) * 1_000_000
                if ts_ns is None:
                    try:
                        ts_ns = record_timestamp(line)
                    except ValueError as err:
                        store.skipped.append((number, str(err)))
                        continue
                fixed.ts.append(ts_ns)
                fixed.lines.append(line)
        if fixed is not None and not fixed.ts:
            del store.streams[fixed.key]
        store.seal()
        return store


def _remap_program():
    try:
        from logpipe.vector.remap import DeadLetter, remap_line
    except ImportError:
        raise LogQLError("--labels is required: the Vector remap program (logpipe.vector.remap) "
                         "is not available yet to derive stream labels") from None
    return remap_line, DeadLetter


_FAST_PREFIXES = ('{"timestamp":"', '{"timestamp": "')


def record_timestamp(line: str) -> int:
    """The `timestamp` field (RFC 3339) of one JSON record, in ns; raises ValueError."""
    for prefix in _FAST_PREFIXES:
        if line.startswith(prefix):
            end = line.find('"', len(prefix))
            if end > 0:
                try:
                    return parse_rfc3339(line[len(prefix):end])
                except ValueError:
                    break
    try:
        record = json.loads(line)
    except ValueError:
        raise ValueError("not a JSON object") from None
    if not isinstance(record, dict) or not isinstance(record.get("timestamp"), str):
        raise ValueError("no string `timestamp` field")
    return parse_rfc3339(record["timestamp"])
