"""Query a Loki through its documented HTTP API, `GET /loki/api/v1/query_range`, within Loki's limits.

- Log queries go out with `direction=backward` and `limit`; `start` is inclusive and `end` exclusive
  (Loki's API reference). A page that comes back full is continued by time: the next request's `end`
  is the oldest timestamp seen plus 1 ns, so entries sharing that nanosecond are not lost, and the
  entries already seen at that boundary are dropped as duplicates. Paging stops at the requested
  limit or when a page comes back short (the window is exhausted).
- Every request spans at most `max_query_length` (Loki's default 721h = 30d1h); longer ranges are
  split. For a metric query the request's `end - start` plus the query's range selector stays within
  it, so the check passes whether or not Loki counts the lookback; chunks stay on the step grid.
- HTTP errors carry Loki's plain-text body into `LokiError`; connection failures and timeouts too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from logpipe.audit import lokidata
from logpipe.audit.lokidata import LogEntry, Points

QUERY_RANGE_PATH = "/loki/api/v1/query_range"
DEFAULT_PAGE_SIZE = 5000  # Loki's default max_entries_limit_per_query
DEFAULT_MAX_QUERY_LENGTH_NS = 721 * 3600 * 10**9  # Loki's default max_query_length (721h)
_ERROR_BODY_CHARS = 500


class LokiError(Exception):
    """Loki could not be reached or refused the query."""


def _seconds(ns: int) -> str:
    """A step as Loki accepts it: float seconds, written without a needless `.0`."""
    return str(ns // 10**9) if ns % 10**9 == 0 else repr(ns / 10**9)


@dataclass
class LokiClient:
    """A Loki base URL, an optional tenant (`X-Scope-OrgID`) and the limits to respect."""

    url: str
    tenant: str | None = None
    timeout: float = 30.0
    page_size: int = DEFAULT_PAGE_SIZE
    max_query_length_ns: int = DEFAULT_MAX_QUERY_LENGTH_NS
    session: requests.Session = field(default_factory=requests.Session)

    def query_range(self, params: dict[str, str]) -> dict[str, Any]:
        """One `query_range` request; returns the answer's `data` object."""
        url = self.url.rstrip("/") + QUERY_RANGE_PATH
        headers = {"X-Scope-OrgID": self.tenant} if self.tenant else {}
        try:
            response = self.session.get(url, params=params, headers=headers, timeout=self.timeout)
        except requests.exceptions.ConnectionError as exc:
            raise LokiError(f"cannot connect to Loki at {self.url}: {_reason(exc)}") from exc
        except requests.exceptions.Timeout as exc:
            raise LokiError(f"Loki at {self.url} did not answer within {self.timeout:g}s") from exc
        except requests.exceptions.RequestException as exc:
            raise LokiError(f"request to Loki at {self.url} failed: {exc}") from exc
        if response.status_code != 200:
            body = response.text.strip()[:_ERROR_BODY_CHARS] or response.reason
            raise LokiError(f"Loki answered HTTP {response.status_code}: {body}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise LokiError("Loki's answer is not JSON") from exc
        if not isinstance(answer, dict) or answer.get("status") != "success" or "data" not in answer:
            raise LokiError(f"Loki's answer is not a success: {str(answer)[:_ERROR_BODY_CHARS]}")
        return answer["data"]

    def logs(self, query: str, start_ns: int, end_ns: int, limit: int) -> list[LogEntry]:
        """The newest `limit` entries with start <= ts < end, newest first, paging by time."""
        collected: list[LogEntry] = []
        seen: set[LogEntry] = set()
        window_end = end_ns
        while window_end > start_ns and len(collected) < limit:
            window_start = max(start_ns, window_end - self.max_query_length_ns)
            self._page_window(query, window_start, window_end, limit, collected, seen)
            window_end = window_start
        return collected

    def _page_window(self, query: str, start_ns: int, end_ns: int, limit: int,
                     collected: list[LogEntry], seen: set[LogEntry]) -> None:
        end = end_ns
        while len(collected) < limit:
            at_boundary = sum(1 for e in seen if e.ts_ns == end - 1)
            batch = min(self.page_size, limit - len(collected) + at_boundary)
            page = lokidata.entries(self.query_range({
                "query": query, "start": str(start_ns), "end": str(end),
                "limit": str(batch), "direction": "backward"}))
            new = sorted((e for e in dict.fromkeys(page) if e not in seen), key=lambda e: e.ts_ns, reverse=True)
            for entry in new[:limit - len(collected)]:
                collected.append(entry)
                seen.add(entry)
            if len(page) < batch:
                return
            if not new:
                raise LokiError(f"a page of {batch} entries all share timestamp {end - 1} ns; raise --page-size")
            end = min(e.ts_ns for e in page) + 1

    def matrix(self, query: str, start_ns: int, end_ns: int, step_ns: int, lookback_ns: int) -> list[Points]:
        """A range query at start, start+step, … <= end, split into requests Loki accepts; series merged."""
        span = self.max_query_length_ns - lookback_ns
        if span < 0:
            raise LokiError("the query's range selector alone exceeds --max-query-length")
        points_per_request = span // step_ns + 1
        merged: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        chunk_start = start_ns
        while chunk_start <= end_ns:
            chunk_end = min(end_ns, chunk_start + (points_per_request - 1) * step_ns)
            data = self.query_range({"query": query, "start": str(chunk_start), "end": str(chunk_end),
                                     "step": _seconds(step_ns)})
            for points in lokidata.series(data):
                merged.setdefault(points.labels, []).extend(points.values)
            chunk_start = chunk_end + step_ns
        return [Points(labels, tuple(values)) for labels, values in merged.items()]


def _reason(exc: requests.exceptions.ConnectionError) -> str:
    text = str(exc)
    return "connection refused" if "refused" in text.lower() else text
