"""Evaluation of metric and log queries over a LogStore at one or many steps.

Every log pipeline runs once per line over [first step - range - offset, last step - offset];
pipelines sharing a prefix (same selector, e.g. `| json`) share that prefix's work per line. Each
range aggregation then slides its window over sorted timestamps with bisect.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from logpipe.logql import ast
from logpipe.logql.errors import LogQLError
from logpipe.logql.pipeline import Rec, compile_stage, unwrap_extractor
from logpipe.logql.result import LogStream, QueryResult, Sample, Series, labels_string
from logpipe.logql.store import LogStore
from logpipe.logql.vector_ops import (aggregate, incremental_mean, label_replace, scalar_binop, vector_binop,
                                      vector_scalar_binop, welford)

PUSHDOWN_OPS = {"count_over_time", "rate", "bytes_over_time", "bytes_rate"}
PARSER_ERRORS = {"JSONParserErr", "LogfmtParserErr"}
_FILTERED = object()


@dataclass(frozen=True)
class Request:
    """Samples one range aggregation needs: its log range, and how series are keyed."""

    log_range: ast.LogRange
    push_by: tuple[str, ...] | None  # `sum by (...)` folded into the collection
    grouping: ast.Grouping | None    # range-aggregation grouping (unwrapped ranges only)
    need_bytes: bool


class SampleSet:
    def __init__(self) -> None:
        self.series: dict[tuple, tuple[list[int], list[float]]] = {}
        self.errors: list[tuple[int, tuple]] = []


def _pipeline_error(key: tuple) -> LogQLError:
    err = dict(key).get("__error__", "")
    return LogQLError(
        f"pipeline error: '{err}' for series: '{labels_string(key)}'.\n"
        f"Use a label filter to intentionally skip this error. (e.g | __error__!=\"{err}\").\n"
        "To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"
        "The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n")


class Evaluator:
    def __init__(self, store: LogStore, steps: list[int]) -> None:
        self.store = store
        self.steps = steps
        self.samples: dict[Request, SampleSet] = {}
        self._stage_ids: dict[tuple, int] = {}
        self._stage_fns: dict[int, object] = {}

    # -- planning and collection ---------------------------------------------------------------
    def plan(self, node) -> list[Request]:
        out: list[Request] = []
        if isinstance(node, ast.VectorAgg) and self._pushdown(node):
            rng = node.expr
            labels = node.grouping.labels if node.grouping else ()
            out.append(Request(rng.range, tuple(labels), None, rng.op in ("bytes_over_time", "bytes_rate")))
            return out
        if isinstance(node, ast.RangeAgg):
            out.append(Request(node.range, None, node.grouping, node.op in ("bytes_over_time", "bytes_rate")))
            return out
        for child in (getattr(node, "expr", None), getattr(node, "lhs", None), getattr(node, "rhs", None)):
            if child is not None:
                out.extend(self.plan(child))
        return out

    @staticmethod
    def _pushdown(node: ast.VectorAgg) -> bool:
        inner = node.expr
        return (node.op == "sum" and isinstance(inner, ast.RangeAgg) and inner.op in PUSHDOWN_OPS
                and inner.range.unwrap is None and (node.grouping is None or not node.grouping.without))

    def _stage_chain(self, stages: tuple, hints: frozenset | None = None) -> tuple[list[int], list]:
        ids, fns = [], []
        for i in range(len(stages)):
            prefix = (stages[:i + 1], hints)
            sid = self._stage_ids.setdefault(prefix, len(self._stage_ids))
            if sid not in self._stage_fns:
                self._stage_fns[sid] = compile_stage(stages[i], hints)
            ids.append(sid)
            fns.append(self._stage_fns[sid])
        return ids, fns

    def collect(self, requests: list[Request]) -> None:
        by_selector: dict[tuple, list[Request]] = {}
        for req in dict.fromkeys(requests):
            if req not in self.samples:
                self.samples[req] = SampleSet()
                by_selector.setdefault(req.log_range.log.matchers, []).append(req)
        for matchers, reqs in by_selector.items():
            self._collect_selector(matchers, reqs)
        for sample_set in self.samples.values():
            for key, (ts, vals) in sample_set.series.items():
                if any(ts[i] > ts[i + 1] for i in range(len(ts) - 1)):
                    order = sorted(range(len(ts)), key=ts.__getitem__)
                    sample_set.series[key] = ([ts[i] for i in order], [vals[i] for i in order])
            sample_set.errors.sort()

    def _collect_selector(self, matchers: tuple, reqs: list[Request]) -> None:
        plans = []
        hints = _parser_hints(reqs)
        # Loki's hints "preserve" parser errors the query asks about (e.g. `| __error__!=""` under `sum by`)
        preserved = PARSER_ERRORS if hints is not None and "__error__" in hints else ()
        for req in reqs:
            rng = req.log_range
            lo = self.steps[0] - rng.offset_ns - rng.range_ns
            hi = self.steps[-1] - rng.offset_ns
            ids, fns = self._stage_chain(rng.log.stages, hints)
            extract = unwrap_extractor(rng.unwrap) if rng.unwrap else None
            plans.append((lo, hi, ids, fns, extract, _key_function(req), req.need_bytes, self.samples[req]))
        union_lo = min(p[0] for p in plans)
        union_hi = max(p[1] for p in plans)
        single = len(plans) == 1
        for stream in self.store.streams.values():
            base = stream.labels
            if not all(m.matches(base.get(m.name, "")) for m in matchers):
                continue
            ts_list, lines = stream.ts, stream.lines
            for idx in range(bisect_right(ts_list, union_lo), bisect_right(ts_list, union_hi)):
                ts = ts_list[idx]
                root = Rec(lines[idx], base, base)
                memo: dict = {}
                for lo, hi, ids, fns, extract, keyfn, need_bytes, sample_set in plans:
                    if not single and not (lo < ts <= hi):
                        continue
                    rec = _run(root, ids, fns, memo)
                    if rec is None:
                        continue
                    if extract is not None:
                        got = extract(rec)
                        if got is None:
                            continue
                        value, rec = got
                    else:
                        value = float(len(rec.line.encode("utf-8"))) if need_bytes else 1.0
                    if rec.err and rec.err not in preserved:
                        sample_set.errors.append((ts, tuple(sorted(rec.full_labels().items()))))
                        continue
                    key = keyfn(rec)
                    series = sample_set.series.get(key)
                    if series is None:
                        series = sample_set.series[key] = ([], [])
                    series[0].append(ts)
                    series[1].append(value)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, node):
        """("scalar", [float per step]) or ("vector", [vector per step])."""
        n = len(self.steps)
        if isinstance(node, ast.Literal):
            return "scalar", [node.value] * n
        if isinstance(node, ast.VectorLit):
            return "vector", [{(): node.value} for _ in range(n)]
        if isinstance(node, ast.RangeAgg):
            return "vector", self._range_agg(node)
        if isinstance(node, ast.VectorAgg):
            if self._pushdown(node):
                return "vector", self._pushdown_sum(node)
            kind, vecs = self.evaluate(node.expr)
            if kind != "vector":
                raise LogQLError(f"{node.op} needs a vector, not a scalar")
            return "vector", [aggregate(node.op, v, node.grouping, node.param) for v in vecs]
        if isinstance(node, ast.LabelReplace):
            _, vecs = self.evaluate(node.expr)
            return "vector", [label_replace(v, node) for v in vecs]
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        raise LogQLError(f"cannot evaluate {type(node).__name__} as a metric query")

    def _binop(self, node: ast.BinOp):
        lkind, lvals = self.evaluate(node.lhs)
        rkind, rvals = self.evaluate(node.rhs)
        if lkind == "scalar" and rkind == "scalar":
            return "scalar", [scalar_binop(node.op, a, b) for a, b in zip(lvals, rvals)]
        if lkind == "vector" and rkind == "vector":
            return "vector", [vector_binop(node.op, a, b, node.return_bool, node.matching)
                              for a, b in zip(lvals, rvals)]
        if lkind == "vector":
            return "vector", [vector_scalar_binop(node.op, v, s, False, node.return_bool) for v, s in zip(lvals, rvals)]
        return "vector", [vector_scalar_binop(node.op, v, s, True, node.return_bool) for s, v in zip(lvals, rvals)]

    def _check_errors(self, rng: ast.LogRange, sample_set: SampleSet) -> None:
        """Fail like Loki when a window at any step holds a sample still carrying __error__."""
        errors = sample_set.errors
        if errors:
            err_ts = [e[0] for e in errors]
            for t in self.steps:
                lo = bisect_right(err_ts, t - rng.offset_ns - rng.range_ns)
                hi = bisect_right(err_ts, t - rng.offset_ns)
                if hi > lo:
                    raise _pipeline_error(min(e[1] for e in errors[lo:hi]))

    def _series_steps(self, rng: ast.LogRange, ts: list[int]):
        """Step indices whose window can hold any of `ts`, with each window's [lo, hi) slice."""
        steps, off, r = self.steps, rng.offset_ns, rng.range_ns
        first = bisect_left(steps, ts[0] + off)
        last = bisect_left(steps, ts[-1] + off + r)
        for i in range(first, last):
            t = steps[i] - off
            lo = bisect_right(ts, t - r)
            hi = bisect_right(ts, t)
            if hi > lo:
                yield i, lo, hi

    def _range_agg(self, node: ast.RangeAgg) -> list[dict]:
        req = Request(node.range, None, node.grouping, node.op in ("bytes_over_time", "bytes_rate"))
        sample_set = self.samples[req]
        self._check_errors(node.range, sample_set)
        out: list[dict] = [{} for _ in self.steps]
        if node.op == "absent_over_time":
            present = [False] * len(self.steps)
            for ts, _ in sample_set.series.values():
                for i, _lo, _hi in self._series_steps(node.range, ts):
                    present[i] = True
            key = _absent_key(node.range.log.matchers)
            return [{} if p else {key: 1.0} for p in present]
        fn = range_function(node.op, node.param, node.range.range_ns / 1e9, node.range.unwrap is not None)
        for key, (ts, vals) in sample_set.series.items():
            for i, lo, hi in self._series_steps(node.range, ts):
                out[i][key] = fn(vals, lo, hi)
        return out

    def _pushdown_sum(self, node: ast.VectorAgg) -> list[dict]:
        inner: ast.RangeAgg = node.expr
        labels = node.grouping.labels if node.grouping else ()
        req = Request(inner.range, tuple(labels), None, inner.op in ("bytes_over_time", "bytes_rate"))
        sample_set = self.samples[req]
        self._check_errors(inner.range, sample_set)
        fn = range_function(inner.op, None, inner.range.range_ns / 1e9, False)
        out: list[dict] = [{} for _ in self.steps]
        for gkey, (ts, vals) in sample_set.series.items():
            key = tuple(sorted((name, value) for name, value in zip(labels, gkey) if value != ""))
            for i, lo, hi in self._series_steps(inner.range, ts):
                out[i][key] = fn(vals, lo, hi)
        return out


def _filter_names(node) -> set[str]:
    if isinstance(node, ast.LabelFilterBinary):
        return _filter_names(node.left) | _filter_names(node.right)
    return {node.name}


def _parser_hints(reqs: list[Request]) -> frozenset | None:
    """Loki's parser label hints: when every request only groups by known labels (a folded `sum by`)
    and its stages only filter, `| json` need extract just those labels and the filtered ones."""
    needed: set[str] = set()
    for req in reqs:
        if req.push_by is None or req.log_range.unwrap is not None:
            return None
        needed.update(req.push_by)
        for stage in req.log_range.log.stages:
            if isinstance(stage, ast.LabelFilterStage):
                needed |= _filter_names(stage.filter)
            elif not isinstance(stage, (ast.LineFilter, ast.JsonStage)) or getattr(stage, "exprs", ()):
                return None
    return frozenset(needed)


def _run(root: Rec, ids: list[int], fns: list, memo: dict) -> Rec | None:
    rec, start = root, 0
    for i in range(len(ids) - 1, -1, -1):
        cached = memo.get(ids[i])
        if cached is not None:
            if cached is _FILTERED:
                return None
            rec, start = cached, i + 1
            break
    for i in range(start, len(fns)):
        rec = fns[i](rec)
        if rec is None:
            memo[ids[i]] = _FILTERED
            return None
        memo[ids[i]] = rec
    return rec


def _key_function(req: Request):
    if req.push_by is not None:
        names = req.push_by
        return lambda rec: tuple((rec.full_labels() if rec.err else rec.labels).get(n, "") for n in names)
    unwrap, grouping = req.log_range.unwrap, req.grouping
    if unwrap is not None:
        if grouping is not None and not grouping.without:
            keep = set(grouping.labels)
            return lambda rec: tuple(sorted(p for p in rec.full_labels().items() if p[0] in keep))
        drop = {unwrap.label} | (set(grouping.labels) if grouping else set())
        return lambda rec: tuple(sorted(p for p in rec.full_labels().items() if p[0] not in drop))
    return lambda rec: tuple(sorted(rec.full_labels().items()))


def _absent_key(matchers: tuple) -> tuple:
    labels: dict[str, str] = {}
    dropped = set()
    for m in matchers:
        if m.op == "=" and m.name not in labels:
            labels[m.name] = m.value
        else:
            dropped.add(m.name)
    return tuple(sorted((k, v) for k, v in labels.items() if k not in dropped))


def _seq_sum(vals: list[float], lo: int, hi: int) -> float:
    total = 0.0
    for i in range(lo, hi):
        total += vals[i]
    return total


def quantile(q: float, values: list[float]) -> float:
    """Prometheus' quantile with linear interpolation between closest ranks."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    values = sorted(values)
    rank = q * (len(values) - 1)
    lower = max(0, int(math.floor(rank)))
    upper = min(len(values) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return values[lower] * (1 - weight) + values[upper] * weight


def range_function(op: str, param: float | None, seconds: float, unwrapped: bool):
    """The per-window function fn(values, lo, hi) of a range aggregation."""
    if op == "count_over_time":
        return lambda vals, lo, hi: float(hi - lo)
    if op == "rate" and not unwrapped:
        return lambda vals, lo, hi: (hi - lo) / seconds
    if op == "bytes_over_time" or op == "sum_over_time":
        return _seq_sum
    if op == "bytes_rate" or op == "rate":
        return lambda vals, lo, hi: _seq_sum(vals, lo, hi) / seconds
    if op == "avg_over_time":
        return lambda vals, lo, hi: incremental_mean(vals[lo:hi])
    if op in ("min_over_time", "max_over_time"):
        def extreme(vals, lo, hi, is_min=(op == "min_over_time")):
            result = vals[lo]
            for i in range(lo + 1, hi):
                v = vals[i]
                if math.isnan(result) or (v < result if is_min else v > result):
                    result = v
            return result
        return extreme
    if op == "first_over_time":
        return lambda vals, lo, hi: vals[lo]
    if op == "last_over_time":
        return lambda vals, lo, hi: vals[hi - 1]
    if op in ("stdvar_over_time", "stddev_over_time"):
        return lambda vals, lo, hi: welford(vals[lo:hi], op == "stddev_over_time")
    if op == "quantile_over_time":
        return lambda vals, lo, hi: quantile(param, vals[lo:hi])
    raise LogQLError(f"unknown range aggregation {op}")


def _sortable(node) -> bool:
    if isinstance(node, ast.VectorAgg) and node.op in ("sort", "sort_desc"):
        return True
    return any(_sortable(c) for c in (getattr(node, "expr", None), getattr(node, "lhs", None),
                                      getattr(node, "rhs", None)) if c is not None)


def evaluate_metric(store: LogStore, node, steps: list[int], instant: bool) -> QueryResult:
    ev = Evaluator(store, steps)
    ev.collect(ev.plan(node))
    kind, values = ev.evaluate(node)
    if instant:
        if kind == "scalar":
            return QueryResult("scalar", time_ns=steps[0], scalar=values[0])
        vec = values[0]
        items = list(vec.items()) if _sortable(node) else sorted(vec.items())
        return QueryResult("vector", time_ns=steps[0], samples=[Sample(dict(k), v) for k, v in items])
    if kind == "scalar":
        return QueryResult("matrix", series=[Series({}, list(zip(steps, values)))])
    series: dict[tuple, list] = {}
    for t, vec in zip(steps, values):
        for key, value in vec.items():
            series.setdefault(key, []).append((t, value))
    return QueryResult("matrix", series=[Series(dict(k), series[k]) for k in sorted(series)])


def evaluate_logs(store: LogStore, node: ast.LogExpr, start_ns: int | None, end_ns: int,
                  limit: int, direction: str) -> QueryResult:
    """A log query: lines with start <= ts < end (Loki's range; instant: start None and ts <= end)
    that pass the pipeline, `limit` newest (backward) or oldest (forward), grouped into streams."""
    ev = Evaluator(store, [end_ns])
    ids, fns = ev._stage_chain(node.stages)
    hits: list[tuple[int, str, tuple]] = []
    for stream in store.streams.values():
        base = stream.labels
        if not all(m.matches(base.get(m.name, "")) for m in node.matchers):
            continue
        lo = 0 if start_ns is None else bisect_left(stream.ts, start_ns)
        hi = bisect_right(stream.ts, end_ns) if start_ns is None else bisect_left(stream.ts, end_ns)
        for idx in range(lo, hi):
            rec = _run(Rec(stream.lines[idx], base, base), ids, fns, {})
            if rec is not None:
                hits.append((stream.ts[idx], rec.line, tuple(sorted(rec.full_labels().items()))))
    backward = direction == "backward"
    hits.sort(key=lambda h: h[0], reverse=backward)
    grouped: dict[tuple, list] = {}
    for ts, line, key in hits[:limit]:
        grouped.setdefault(key, []).append((ts, line))
    streams = [LogStream(dict(k), grouped[k]) for k in sorted(grouped, key=labels_string)]
    return QueryResult("streams", time_ns=end_ns, streams=streams)
