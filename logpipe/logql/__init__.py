"""A LogQL engine: Loki's query semantics evaluated over log lines held in memory.

Public API (stable; other commands code against it)::

    from logpipe.logql import (LogQLError, LogQLSyntaxError, UnsupportedLogQL, Entry, LogStore,
                               parse, instant_query, range_query, QueryResult, Sample, Series,
                               parse_duration, parse_time)

- ``LogQLError``: base of every engine error. ``LogQLSyntaxError(message, pos)``: ``str()`` is
  "parse error at line 1, col 17: <msg>". ``UnsupportedLogQL``: ``str()`` starts "unsupported LogQL: ".
  Evaluation errors Loki reports (a metric query whose samples still carry ``__error__``, many-to-many
  matching) raise ``LogQLError`` with Loki's wording.
- ``Entry(ts_ns, line, labels)``; ``LogStore(entries)``, ``LogStore.from_jsonl(path, labels=None)``
  (``labels=None``: stream labels from our Vector remap program; ``.skipped`` lists lines not
  ingested), ``.entries``.
- ``parse(query) -> Expr``; ``instant_query(store, query, time_ns)``;
  ``range_query(store, query, start_ns, end_ns, step_ns)`` (both also take ``limit=100`` and
  ``direction="backward"`` for log queries) -> ``QueryResult`` with ``.result_type``
  ("vector" | "scalar" | "matrix" | "streams"), ``.samples`` [Sample(labels, value)], ``.scalar``,
  ``.series`` [Series(labels, points=[(ts_ns, value)])], ``.streams`` [LogStream(labels,
  entries=[(ts_ns, line)])], ``.to_loki()`` (Loki's ``data`` object: values as strings, times as
  Unix seconds, log entries as [ns string, line]) and ``.to_json()`` (the whole response body).
  Instant vectors are sorted by labels (unless the query uses sort/sort_desc), matrices by labels,
  streams by their label string, as Loki does. Log queries: a range query reads [start, end).
- ``parse_duration("1h30m") -> ns``; ``parse_time("2026-01-01T00:00:00Z" | "1767225600.5") -> ns``.

Supported: stream selectors (= != =~ !~, regexes fully anchored); line filters |= != |~ !~;
``json`` (flattening, sanitising, ``_extracted``, JSONParserErr, ``json l="path"``) and ``logfmt``;
label filters (string, regex, number, duration, bytes; and/or/","); ``drop``, ``keep``,
``label_format``, ``line_format`` (template subset, see template.py); ``unwrap`` with
``duration()``/``duration_seconds()``/``bytes()``; the range aggregations count_over_time, rate,
bytes_over_time, bytes_rate, sum/avg/min/max/first/last/stdvar/stddev/quantile/absent_over_time with
``by``/``without`` where Loki allows it and ``offset``; windows (t - range, t]; vector aggregations
sum avg min max count stddev stdvar topk bottomk sort sort_desc; arithmetic, comparison (``bool``),
and/or/unless with on/ignoring/group_left/group_right; numbers, ``vector()``, ``label_replace()``.
Division or modulo by zero is NaN, as in Loki's mergeBinOp. Everything else (pattern/regexp/unpack
parsers, decolorize, distinct, ip(), subqueries, other functions or template functions) raises
UnsupportedLogQL.
"""
from __future__ import annotations

from logpipe.logql import ast
from logpipe.logql.errors import LogQLError, LogQLSyntaxError, UnsupportedLogQL
from logpipe.logql.evaluator import evaluate_logs, evaluate_metric
from logpipe.logql.parser import parse
from logpipe.logql.result import LogStream, QueryResult, Sample, Series
from logpipe.logql.store import Entry, LogStore
from logpipe.logql.timeutil import parse_duration, parse_time

__all__ = ["LogQLError", "LogQLSyntaxError", "UnsupportedLogQL", "Entry", "LogStore", "parse",
           "instant_query", "range_query", "QueryResult", "Sample", "Series", "LogStream",
           "parse_duration", "parse_time"]

DEFAULT_LIMIT = 100


def _expr(query: str | ast.Expr) -> ast.Expr:
    return parse(query) if isinstance(query, str) else query


def instant_query(store: LogStore, query: str | ast.Expr, time_ns: int, limit: int = DEFAULT_LIMIT,
                  direction: str = "backward") -> QueryResult:
    """Evaluate at one time: a vector or scalar; a log query gives up to `limit` entries at or before it
    (Loki 3 refuses instant log queries; this engine answers them for convenience)."""
    expr = _expr(query)
    if isinstance(expr, ast.LogExpr):
        return evaluate_logs(store, expr, None, time_ns, limit, direction)
    return evaluate_metric(store, expr, [time_ns], instant=True)


def range_query(store: LogStore, query: str | ast.Expr, start_ns: int, end_ns: int, step_ns: int,
                limit: int = DEFAULT_LIMIT, direction: str = "backward") -> QueryResult:
    """Evaluate at start, start+step, ... <= end: a matrix; a log query gives streams in [start, end)."""
    if step_ns <= 0:
        raise LogQLError("zero or negative query resolution step widths are not accepted. "
                         "Try a positive integer")
    if end_ns < start_ns:
        raise LogQLError("end timestamp must not be before start time")
    expr = _expr(query)
    if isinstance(expr, ast.LogExpr):
        return evaluate_logs(store, expr, start_ns, end_ns, limit, direction)
    steps = list(range(start_ns, end_ns + 1, step_ns))
    return evaluate_metric(store, expr, steps, instant=False)
