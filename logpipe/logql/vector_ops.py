"""Instant-vector operations with Loki's semantics: binary operators, vector matching, aggregations.

A vector is a dict {label key: value}; a label key is a tuple of (name, value) pairs sorted by name,
so tuple order equals Prometheus' labels.Compare.
"""
from __future__ import annotations

import heapq
import math
import re

from logpipe.logql import ast
from logpipe.logql.errors import LogQLError

Key = tuple
Vector = dict

COMPARISONS = {"==", "!=", ">", ">=", "<", "<="}


def scalar_binop(op: str, left: float, right: float) -> float | None:
    """Loki's mergeBinOpFloat: x/0 and x%0 are NaN; a comparison gives 1/0."""
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return math.nan if right == 0 else left / right
    if op == "%":
        return math.nan if right == 0 else math.fmod(left, right)
    if op == "^":
        try:
            return math.pow(left, right)
        except (OverflowError, ValueError):
            return _go_pow(left, right)
    return 1.0 if _compare(op, left, right) else 0.0


def _go_pow(left: float, right: float) -> float:
    if left == 0 and right < 0:
        return math.inf
    if left < 0 and right != int(right):
        return math.nan
    return math.inf if abs(left) > 1 else 0.0


def _compare(op: str, a: float, b: float) -> bool:
    return {"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def _signature(key: Key, matching: ast.VectorMatching) -> Key:
    if matching.on:
        return tuple(p for p in key if p[0] in matching.labels)
    if matching.labels:
        return tuple(p for p in key if p[0] not in matching.labels)
    return key


def _result_key(lhs: Key, rhs: Key, matching: ast.VectorMatching) -> Key:
    labels = dict(lhs)
    if matching.card == "one-to-one":
        if matching.on:
            labels = {k: v for k, v in labels.items() if k in matching.labels}
        else:
            for name in matching.labels:
                labels.pop(name, None)
    for name in matching.include:
        value = dict(rhs).get(name, "")
        if value:
            labels[name] = value
        else:
            labels.pop(name, None)
    return tuple(sorted(labels.items()))


def vector_binop(op: str, lhs: Vector, rhs: Vector, return_bool: bool, matching: ast.VectorMatching) -> Vector:
    """vector <op> vector, following Loki's vectorBinop (one-to-one, group_left/right, set operators)."""
    if op in ("and", "or", "unless"):
        return _set_op(op, lhs, rhs, matching)
    one_to_many = matching.card == "one-to-many"
    if one_to_many:
        lhs, rhs = rhs, lhs
    right_by_sig: dict[Key, tuple[Key, float]] = {}
    for key, value in rhs.items():
        sig = _signature(key, matching)
        if sig in right_by_sig:
            side = "left" if one_to_many else "right"
            raise LogQLError(f"found duplicate series on the {side} hand-side;many-to-many matching not allowed: "
                             "matching labels must be unique on one side")
        right_by_sig[sig] = (key, value)
    matched: dict[Key, set | None] = {}
    out: Vector = {}
    filtering = op in COMPARISONS and not return_bool
    for key, value in lhs.items():
        sig = _signature(key, matching)
        found = right_by_sig.get(sig)
        if found is None:
            continue
        rkey, rvalue = found
        result = _result_key(key, rkey, matching)
        if matching.card == "one-to-one":
            if sig in matched:
                raise LogQLError("multiple matches for labels: many-to-one matching must be explicit "
                                 "(group_left/group_right)")
            matched[sig] = None
        else:
            seen = matched.setdefault(sig, set())
            if result in seen:
                raise LogQLError("multiple matches for labels: grouping labels must ensure unique matches")
            seen.add(result)
        left_value, right_value = (rvalue, value) if one_to_many else (value, rvalue)
        merged = scalar_binop(op, left_value, right_value)
        if filtering:
            if merged == 0.0:
                continue
            merged = left_value
        out[result] = merged
    return out


def _set_op(op: str, lhs: Vector, rhs: Vector, matching: ast.VectorMatching) -> Vector:
    right_sigs = {_signature(k, matching) for k in rhs}
    if op == "and":
        return {k: v for k, v in lhs.items() if _signature(k, matching) in right_sigs}
    if op == "unless":
        return {k: v for k, v in lhs.items() if _signature(k, matching) not in right_sigs}
    left_sigs = {_signature(k, matching) for k in lhs}
    out = dict(lhs)
    for key, value in rhs.items():
        if _signature(key, matching) not in left_sigs:
            out[key] = value
    return out


def vector_scalar_binop(op: str, vec: Vector, scalar: float, scalar_left: bool, return_bool: bool) -> Vector:
    """vector <op> scalar (or scalar <op> vector): comparisons filter and keep the vector's value."""
    out: Vector = {}
    for key, value in vec.items():
        left, right = (scalar, value) if scalar_left else (value, scalar)
        merged = scalar_binop(op, left, right)
        if op in COMPARISONS and not return_bool:
            if merged == 0.0:
                continue
            merged = value
        out[key] = merged
    return out


def _group_key(key: Key, grouping: ast.Grouping | None) -> Key:
    if grouping is None:
        return ()
    if grouping.without:
        return tuple(p for p in key if p[0] not in grouping.labels)
    return tuple(p for p in key if p[0] in grouping.labels and p[1] != "")


def aggregate(op: str, vec: Vector, grouping: ast.Grouping | None, param: float | None) -> Vector:
    """sum/avg/min/max/count/stddev/stdvar/topk/bottomk/sort/sort_desc over one instant vector."""
    if op in ("sort", "sort_desc"):
        items = sorted(vec.items(), key=lambda kv: kv[1], reverse=(op == "sort_desc"))
        nans = [kv for kv in items if math.isnan(kv[1])]
        return dict([kv for kv in items if not math.isnan(kv[1])] + nans)
    groups: dict[Key, list] = {}
    for key, value in vec.items():
        groups.setdefault(_group_key(key, grouping), []).append((key, value))
    out: Vector = {}
    for gkey, members in groups.items():
        values = [v for _, v in members]
        if op in ("topk", "bottomk"):
            k = int(param)
            pick = heapq.nlargest if op == "topk" else heapq.nsmallest
            for key, value in pick(k, members, key=lambda kv: _rank(kv[1], op)):
                out[key] = value
            continue
        out[gkey] = _reduce(op, values)
    return out


def _rank(value: float, op: str) -> float:
    if math.isnan(value):
        return -math.inf if op == "topk" else math.inf
    return value


def _reduce(op: str, values: list[float]) -> float:
    if op == "sum":
        total = 0.0
        for v in values:
            total += v
        return total
    if op == "count":
        return float(len(values))
    if op == "avg":
        return incremental_mean(values)
    if op in ("min", "max"):
        result = values[0]
        for v in values[1:]:
            if math.isnan(result) or (v < result if op == "min" else v > result):
                result = v
        return result
    if op in ("stddev", "stdvar"):
        return welford(values, op == "stddev")
    raise LogQLError(f"unknown aggregation {op}")


def incremental_mean(values) -> float:
    """Loki's running mean (avg and avg_over_time), keeping an infinite mean once reached."""
    mean, count = 0.0, 0
    for v in values:
        count += 1
        if math.isinf(mean) and ((math.isinf(v) and (mean > 0) == (v > 0)) or not (math.isinf(v) or math.isnan(v))):
            continue
        mean += v / count - mean / count
    return mean


def welford(values: list[float], root: bool) -> float:
    """Population variance (or its square root) by Welford's update, as Loki computes it."""
    count = mean = aux = 0.0
    for v in values:
        count += 1
        delta = v - mean
        mean += delta / count
        aux += delta * (v - mean)
    var = aux / count
    return math.sqrt(var) if root else var


_EXPAND = re.compile(r"\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+)|(\$))")


def expand_replacement(template: str, match: re.Match) -> str:
    """Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$; unknown groups expand to ""."""
    def sub(m: re.Match) -> str:
        if m.group(3):
            return "$"
        name = m.group(1) if m.group(1) is not None else m.group(2)
        try:
            value = match.group(int(name)) if name.isdigit() else match.group(name)
        except IndexError:
            value = None
        return value or ""
    return _EXPAND.sub(sub, template)


def label_replace(vec: Vector, node: ast.LabelReplace) -> Vector:
    """Prometheus' label_replace: on a full match of src's value, set dst (deleting it when empty)."""
    out: Vector = {}
    for key, value in vec.items():
        labels = dict(key)
        m = node.regex.fullmatch(labels.get(node.src, ""))
        if m is not None:
            new = expand_replacement(node.replacement, m)
            if new:
                labels[node.dst] = new
            else:
                labels.pop(node.dst, None)
        new_key = tuple(sorted(labels.items()))
        if new_key in out:
            raise LogQLError("vector cannot contain metrics with the same labelset")
        out[new_key] = value
    return out
