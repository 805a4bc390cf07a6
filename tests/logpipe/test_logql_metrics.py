"""Metric queries of the LogQL engine: range and vector aggregations, operators, matching, results.

Expectations are computed by hand from the small inputs written next to them.
"""
import json
import math

import pytest

from logpipe.logql import Entry, LogQLError, LogStore, instant_query, parse, range_query

T0 = 1_767_225_600 * 10**9
S = 10**9
MIN = 60 * S


def entries(rows):
    """rows: (seconds after T0, stream labels, record dict or line)."""
    return LogStore(Entry(T0 + int(sec * S), json.dumps(rec) if isinstance(rec, dict) else rec, labels)
                    for sec, labels, rec in rows)


def vec(st, query, at_sec):
    """Instant vector at T0+at_sec as a list of (labels, value) in result order."""
    result = instant_query(st, query, T0 + int(at_sec * S))
    assert result.result_type == "vector"
    return [(s.labels, s.value) for s in result.samples]


A = {"app": "a"}


# --- range aggregations -----------------------------------------------------------------------

def test_window_is_left_open_right_closed():
    """Issue 3 / Loki range vector: a line exactly at t - range is out, one at t is in."""
    st = entries([(0, A, "x"), (1, A, "x"), (300, A, "x"), (301, A, "x")])
    assert vec(st, 'count_over_time({app="a"}[5m])', 300) == [(A, 2.0)]  # (0, 300]: lines at 1 and 300
    assert vec(st, 'count_over_time({app="a"}[5m])', 301) == [(A, 2.0)]  # (1, 301]: lines at 300 and 301; 1 is out


def test_rate_is_count_per_range_seconds():
    """Loki "Log range aggregations": rate = entries per second over the range."""
    st = entries([(s, A, "x") for s in (10, 20, 30)])
    assert vec(st, 'rate({app="a"}[1m])', 60) == [(A, 3 / 60)]


def test_empty_range_and_no_data_give_empty_vectors():
    """Loki "Log range aggregations": a series without samples in the window is absent."""
    st = entries([(0, A, "x")])
    assert vec(st, 'count_over_time({app="a"}[1m])', 600) == []
    assert vec(st, 'count_over_time({app="nope"}[1m])', 600) == []
    assert vec(LogStore([]), 'sum(count_over_time({app="a"}[1m]))', 0) == []


def test_absent_over_time_uses_the_equality_matchers():
    """Loki "Log range aggregations": absent_over_time returns 1 with the selector's equality labels
    when nothing is in the range, and nothing otherwise."""
    st = entries([(0, A, "x")])
    assert vec(st, 'absent_over_time({app="a", env=~"p.*", job="j"}[1m])', 600) == [({"app": "a", "job": "j"}, 1.0)]
    assert vec(st, 'absent_over_time({app="a"}[1m])', 30) == []


def test_bytes_over_time_and_bytes_rate():
    """Loki "Log range aggregations": bytes_over_time sums line sizes in bytes (UTF-8), bytes_rate per second."""
    st = entries([(1, A, "abc"), (2, A, "é")])  # 3 + 2 bytes
    assert vec(st, 'bytes_over_time({app="a"}[1m])', 30) == [(A, 5.0)]
    assert vec(st, 'bytes_rate({app="a"}[1m])', 30) == [(A, 5 / 60)]


@pytest.mark.parametrize("func, expected", [
    ("sum_over_time", 10.0), ("avg_over_time", 2.5), ("min_over_time", 1.0), ("max_over_time", 4.0),
    ("first_over_time", 3.0), ("last_over_time", 2.0), ("stdvar_over_time", 1.25),
    ("stddev_over_time", math.sqrt(1.25)), ("rate", 10 / 60),
])
def test_unwrapped_range_aggregations(func, expected):
    """Loki "Unwrapped range aggregations": values 3, 1, 4, 2 in time order."""
    st = entries([(i + 1, A, {"v": v}) for i, v in enumerate([3, 1, 4, 2])])
    assert vec(st, f'{func}({{app="a"}} | json | unwrap v [1m])', 30) == [(A, pytest.approx(expected))]


@pytest.mark.parametrize("q, expected", [(0.9, 3.7), (0.5, 2.5), (0, 1.0), (1, 4.0), (1.5, math.inf), (-1, -math.inf)])
def test_quantile_over_time_interpolates_like_prometheus(q, expected):
    """Loki "Unwrapped range aggregations": quantile_over_time uses Prometheus' interpolation:
    sorted 1,2,3,4, rank q*(n-1); q=0.9 -> rank 2.7 -> 3 + 0.7*(4-3) = 3.7."""
    st = entries([(i + 1, A, {"v": v}) for i, v in enumerate([3, 1, 4, 2])])
    assert vec(st, f'quantile_over_time({q}, {{app="a"}} | json | unwrap v [1m])', 30) == [(A, pytest.approx(expected))]


def test_unwrap_drops_the_unwrapped_label_and_by_groups():
    """Loki "Unwrapped range aggregations": series lose the unwrapped label; `by`/`without` group samples."""
    st = entries([(1, A, {"h": "x", "v": 1, "z": "1"}), (2, A, {"h": "x", "v": 5, "z": "2"}),
                  (3, A, {"h": "y", "v": 2, "z": "1"})])
    assert sorted(vec(st, 'max_over_time({app="a"} | json | unwrap v [1m]) by (h)', 30),
                  key=lambda s: s[0]["h"]) == [({"h": "x"}, 5.0), ({"h": "y"}, 2.0)]
    assert vec(st, 'max_over_time({app="a"} | json | unwrap v [1m]) without (z)', 30) == [
        ({"app": "a", "h": "x"}, 5.0), ({"app": "a", "h": "y"}, 2.0)]
    assert vec(st, 'min_over_time({app="a"} | json | unwrap v [1m])', 30) == [
        ({"app": "a", "h": "x", "z": "1"}, 1.0), ({"app": "a", "h": "x", "z": "2"}, 5.0),
        ({"app": "a", "h": "y", "z": "1"}, 2.0)]


def test_offset_shifts_the_window_back():
    """Loki "Metric queries": `offset 1m` evaluates the range ending one minute earlier."""
    st = entries([(10, A, "x"), (70, A, "x"), (80, A, "x")])
    assert vec(st, 'count_over_time({app="a"}[1m] offset 1m)', 120) == [(A, 1.0)]  # (0, 60]
    assert vec(st, 'count_over_time({app="a"}[1m])', 120) == [(A, 2.0)]            # (60, 120]


# --- vector aggregations ----------------------------------------------------------------------

MIXED = [(1, {"app": "a", "ev": "x"}, "l"), (2, {"app": "a", "ev": "x"}, "l"), (3, {"app": "a", "ev": "y"}, "l"),
         (4, {"app": "a"}, "l"), (5, {"app": "a"}, "l"), (6, {"app": "a"}, "l"), (7, {"app": "a"}, "l")]


def test_sum_by_with_the_label_missing_on_some_series():
    """Loki "Built-in aggregation operators": series without the `by` label fall in the group without it."""
    st = entries(MIXED)
    assert vec(st, 'sum by (ev) (count_over_time({app="a"}[1m]))', 30) == [({}, 4.0), ({"ev": "x"}, 2.0),
                                                                            ({"ev": "y"}, 1.0)]


def test_folded_sum_by_equals_the_generic_path():
    """`sum by` over count_over_time is evaluated in one pass; `* 1` forces series-by-series evaluation."""
    st = entries(MIXED)
    for q in ('sum by (ev) (rate({app="a"}[1m]))', 'sum(count_over_time({app="a"}[1m]))'):
        slow = q.replace("[1m]))", "[1m]) * 1)")
        assert vec(st, q, 30) == vec(st, slow, 30)


@pytest.mark.parametrize("op, expected", [
    ("avg", 7 / 3), ("min", 1.0), ("max", 4.0), ("count", 3.0), ("sum", 7.0), ("stdvar", 14 / 9),
])
def test_vector_aggregations(op, expected):
    """Loki "Built-in aggregation operators": over counts 2 (ev=x), 1 (ev=y), 4 (none).
    stdvar: mean 7/3, deviations -1/3, -4/3, 5/3 -> (1 + 16 + 25) / 9 / 3 = 14/9."""
    st = entries(MIXED)
    assert vec(st, f'{op}(count_over_time({{app="a"}}[1m]))', 30) == [({}, pytest.approx(expected))]


def test_stddev_and_without():
    """Loki "Built-in aggregation operators": stddev is the root of stdvar; `without` drops labels."""
    st = entries(MIXED)
    assert vec(st, 'stddev(count_over_time({app="a"}[1m]))', 30) == [({}, pytest.approx(math.sqrt(14 / 9)))]
    assert vec(st, 'sum without (ev) (count_over_time({app="a"}[1m]))', 30) == [({"app": "a"}, 7.0)]


def test_topk_bottomk_keep_series_labels_and_sort():
    """Loki "Built-in aggregation operators": topk/bottomk keep whole series; sort/sort_desc order by value."""
    st = entries(MIXED)
    q = 'count_over_time({app="a"}[1m])'
    assert vec(st, f"topk(2, {q})", 30) == [({"app": "a"}, 4.0), ({"app": "a", "ev": "x"}, 2.0)]
    assert vec(st, f"bottomk(1, {q})", 30) == [({"app": "a", "ev": "y"}, 1.0)]
    assert [v for _, v in vec(st, f"sort({q})", 30)] == [1.0, 2.0, 4.0]
    assert [v for _, v in vec(st, f"sort_desc({q})", 30)] == [4.0, 2.0, 1.0]
    assert vec(st, f"topk by (ev) (1, {q})", 30) == [({"app": "a"}, 4.0), ({"app": "a", "ev": "x"}, 2.0),
                                                     ({"app": "a", "ev": "y"}, 1.0)]


# --- binary operators -------------------------------------------------------------------------

TWO = [(1, {"app": "a", "k": "1"}, "l"), (2, {"app": "a", "k": "1"}, "l"), (3, {"app": "a", "k": "2"}, "l"),
       (4, {"app": "b", "k": "1"}, "l")]


def test_arithmetic_between_vectors_matches_identical_label_sets():
    """Loki "Binary operators": vector/vector arithmetic pairs series with exactly equal labels."""
    st = entries(TWO)
    q = 'count_over_time({app="a"}[1m]) / count_over_time({app=~"a|b"}[1m])'
    assert vec(st, q, 30) == [({"app": "a", "k": "1"}, 1.0), ({"app": "a", "k": "2"}, 1.0)]


def test_on_ignoring_and_group_left():
    """Loki "Binary operators: vector matching": on()/ignoring() choose the matching labels; group_left
    allows many-to-one and copies included labels from the one side."""
    st = entries(TWO)
    per_k = 'sum by (k) (count_over_time({app=~"a|b"}[1m]))'       # k=1: 3, k=2: 1
    per_series = 'count_over_time({app=~"a|b"}[1m])'                # a/1: 2, a/2: 1, b/1: 1
    assert vec(st, f"{per_series} / on(k) group_left {per_k}", 30) == [
        ({"app": "a", "k": "1"}, 2 / 3), ({"app": "a", "k": "2"}, 1.0), ({"app": "b", "k": "1"}, 1 / 3)]
    assert vec(st, f"{per_series} / ignoring(app) group_left {per_k}", 30) == [
        ({"app": "a", "k": "1"}, 2 / 3), ({"app": "a", "k": "2"}, 1.0), ({"app": "b", "k": "1"}, 1 / 3)]
    assert vec(st, f'{per_k} * on(k) {per_k}', 30) == [({"k": "1"}, 9.0), ({"k": "2"}, 1.0)]
    tagged = 'label_replace(sum by (k) (count_over_time({app=~"a|b"}[1m])), "tag", "t$1", "k", "(.*)")'
    assert vec(st, f"{per_series} * on(k) group_left(tag) {tagged}", 30) == [
        ({"app": "a", "k": "1", "tag": "t1"}, 6.0), ({"app": "a", "k": "2", "tag": "t2"}, 1.0),
        ({"app": "b", "k": "1", "tag": "t1"}, 3.0)]


def test_many_to_many_matching_is_an_error():
    """Loki "Binary operators: vector matching": duplicate series on the matching side fail the query."""
    st = entries(TWO)
    per_series = 'count_over_time({app=~"a|b"}[1m])'
    with pytest.raises(LogQLError, match="found duplicate series on the right hand-side"):
        vec(st, f"{per_series} / on(k) {per_series}", 30)
    with pytest.raises(LogQLError, match="many-to-one matching must be explicit"):
        vec(st, f'{per_series} / on(k) sum by (k) ({per_series})', 30)


def test_comparison_filters_unless_bool():
    """Loki "Comparison operators": without bool a comparison filters (keeping the vector's value);
    with bool it returns 0 or 1; a scalar on the left still keeps the vector's value."""
    st = entries(TWO)
    q = 'count_over_time({app=~"a|b"}[1m])'
    assert vec(st, f"{q} > 1", 30) == [({"app": "a", "k": "1"}, 2.0)]
    assert vec(st, f"1 < {q}", 30) == [({"app": "a", "k": "1"}, 2.0)]
    assert [v for _, v in vec(st, f"{q} > bool 1", 30)] == [1.0, 0.0, 0.0]
    # per k sums: k=1 -> 3, k=2 -> 1; minus 2: 1 and -1; only b/k=1 (count 1) equals its group's 1
    assert vec(st, f'{q} == on(k) group_left sum by (k) ({q}) - 2', 30) == [({"app": "b", "k": "1"}, 1.0)]


def test_set_operators():
    """Loki "Logical/set binary operators": and (intersection), or (union), unless (complement)."""
    st = entries(TWO)
    a = 'count_over_time({app="a"}[1m])'
    b = 'count_over_time({app="b"}[1m])'
    assert vec(st, f"{a} and on(k) {b}", 30) == [({"app": "a", "k": "1"}, 2.0)]
    assert vec(st, f"{a} unless on(k) {b}", 30) == [({"app": "a", "k": "2"}, 1.0)]
    assert vec(st, f"{a} or {b}", 30) == [({"app": "a", "k": "1"}, 2.0), ({"app": "a", "k": "2"}, 1.0),
                                          ({"app": "b", "k": "1"}, 1.0)]
    assert vec(st, f"{a} or on(k) {b}", 30) == [({"app": "a", "k": "1"}, 2.0), ({"app": "a", "k": "2"}, 1.0)]


def test_division_by_zero_and_scalar_operations():
    """Loki mergeBinOp: x/0 and 0/0 give NaN; scalars combine with every sample."""
    st = entries(TWO)
    q = 'count_over_time({app="b"}[1m])'
    assert math.isnan(vec(st, f"{q} / 0", 30)[0][1])
    assert math.isnan(vec(st, f"{q} - {q} / ({q} - {q})", 30)[0][1])
    assert vec(st, f"2 * {q} + 1", 30) == [({"app": "b", "k": "1"}, 3.0)]
    assert vec(st, f"{q} ^ 3 % 5", 30) == [({"app": "b", "k": "1"}, 1.0)]


def test_scalar_and_vector_literals():
    """Loki "Functions: vector()" and scalar literals: vector(s) has no labels ("metric": {})."""
    st = LogStore([])
    result = instant_query(st, "2 * 3", T0)
    assert result.result_type == "scalar" and result.scalar == 6.0
    assert result.to_loki() == {"resultType": "scalar", "result": [1767225600, "6"]}
    assert instant_query(st, "vector(5)", T0).to_loki() == {
        "resultType": "vector", "result": [{"metric": {}, "value": [1767225600, "5"]}]}
    assert instant_query(st, "1 > bool 2", T0).scalar == 0.0


def test_label_replace():
    """Loki "Functions: label_replace()": anchored regex on src; $1 expansion; no match leaves the series."""
    st = entries(TWO)
    q = 'count_over_time({app=~"a|b"}[1m])'
    got = vec(st, f'label_replace({q}, "who", "app-$1", "app", "(a)")', 30)
    assert got == [({"app": "a", "k": "1", "who": "app-a"}, 2.0), ({"app": "a", "k": "2", "who": "app-a"}, 1.0),
                   ({"app": "b", "k": "1"}, 1.0)]
    assert vec(st, f'label_replace({q}, "k", "", "app", "b")', 30)[-1] == ({"app": "b"}, 1.0)


# --- range queries and output -----------------------------------------------------------------

def test_range_query_steps_and_matrix_format():
    """Loki "query_range": steps start, start+step, ... <= end; series absent at a step have no point."""
    st = entries([(30, A, "x"), (90, A, "x"), (100, A, "x")])
    result = range_query(st, 'count_over_time({app="a"}[1m])', T0, T0 + 150 * S, MIN)
    assert result.to_loki() == {"resultType": "matrix", "result": [
        {"metric": {"app": "a"}, "values": [[1767225660, "1"], [1767225720, "2"]]}]}


def test_range_query_equals_instant_queries_at_each_step():
    """Issue 3: a range query is exactly the instant query at every step."""
    st = entries(MIXED + [(70, {"app": "a", "ev": "x"}, "l"), (125, {"app": "a"}, "l")])
    for q in ('sum by (ev) (count_over_time({app="a"}[1m]))', 'topk(1, count_over_time({app="a"}[2m]))',
              'count_over_time({app="a"}[1m] offset 30s) / 2', 'absent_over_time({app="a"}[30s])'):
        result = range_query(st, q, T0, T0 + 180 * S, 15 * S)
        got = {(tuple(sorted(s.labels.items())), t): v for s in result.series for t, v in s.points}
        want = {}
        for t in range(T0, T0 + 181 * S, 15 * S):
            for s in instant_query(st, q, t).samples:
                want[(tuple(sorted(s.labels.items())), t)] = s.value
        assert got == want, q


def test_scalar_range_query_is_a_matrix_without_labels():
    """Loki "query_range": a scalar expression gives one series with no labels."""
    result = range_query(LogStore([]), "1 + 1", T0, T0 + 2 * S, S)
    assert result.to_loki() == {"resultType": "matrix", "result": [
        {"metric": {}, "values": [[1767225600, "2"], [1767225601, "2"], [1767225602, "2"]]}]}


def test_values_and_timestamps_are_formatted_like_loki():
    """Loki HTTP API: values are strings as Go formats floats ("+Inf", "NaN", no exponent), times are
    Unix seconds with millisecond precision."""
    st = entries([(0.25, A, "x")])
    q = 'count_over_time({app="a"}[1m]) * 1e21'
    assert instant_query(st, q, T0 + 500 * 10**6).to_loki()["result"][0]["value"] == [
        1767225600.5, "1000000000000000000000"]
    assert instant_query(st, 'count_over_time({app="a"}[1m]) / 8', T0 + S).to_loki()["result"][0]["value"][1] == "0.125"
    got = instant_query(st, 'count_over_time({app="a"}[1m]) > bool 0', T0 + S).to_loki()["result"][0]["value"][1]
    assert got == "1"


def test_log_query_streams_limit_and_direction():
    """Loki "query" for log queries: newest first by default (backward), `limit` lines, streams by labels."""
    st = entries([(1, {"app": "a", "s": "2"}, "l1"), (2, {"app": "a", "s": "1"}, "l2"), (3, {"app": "a", "s": "2"}, "l3")])
    result = instant_query(st, '{app="a"}', T0 + 10 * S, limit=2)
    assert result.to_loki() == {"resultType": "streams", "result": [
        {"stream": {"app": "a", "s": "1"}, "values": [[str(T0 + 2 * S), "l2"]]},
        {"stream": {"app": "a", "s": "2"}, "values": [[str(T0 + 3 * S), "l3"]]}]}
    result = range_query(st, '{app="a"}', T0, T0 + 10 * S, S, limit=2, direction="forward")
    assert [(s.labels["s"], [l for _, l in s.entries]) for s in result.streams] == [("1", ["l2"]), ("2", ["l1"])]
    result = range_query(st, '{app="a"}', T0 + 2 * S, T0 + 3 * S, S)  # start inclusive, end exclusive
    assert [[l for _, l in s.entries] for s in result.streams] == [["l2"]]


def test_parse_returns_a_reusable_tree():
    """API: queries may be given parsed."""
    st = entries([(1, A, "x")])
    expr = parse('count_over_time({app="a"}[1m])')
    assert vec(st, expr, 2) == vec(st, 'count_over_time({app="a"}[1m])', 2) == [(A, 1.0)]


def test_sum_of_unwrapped_rate_sums_values():
    """Loki "Unwrapped range aggregations": rate over unwrapped values is their sum per second, also
    under `sum by`."""
    st = entries([(1, A, {"v": 30, "k": "x"}), (2, A, {"v": 90, "k": "x"})])
    assert vec(st, 'sum by (k) (rate({app="a"} | json | unwrap v [1m]))', 30) == [({"k": "x"}, 2.0)]
