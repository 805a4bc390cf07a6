"""Parser, durations and times of the LogQL engine (logpipe.logql), against Loki's documented syntax."""
import pytest

from logpipe.logql import (LogQLError, LogQLSyntaxError, UnsupportedLogQL, Entry, LogStore, instant_query,
                           parse, parse_duration, parse_time)
from logpipe.logql import ast

T0 = 1_767_225_600 * 10**9


def test_syntax_error_points_at_the_position():
    """Loki "Troubleshoot queries: parse errors": `parse error at line L, col C: ...`."""
    query = 'sum(count_over_time({app="a"}[5m])'
    with pytest.raises(LogQLSyntaxError) as err:
        parse(query)
    assert str(err.value).startswith(f"parse error at line 1, col {len(query) + 1}: ")
    assert err.value.line == 1 and err.value.col == len(query) + 1


def test_syntax_error_on_a_later_line_counts_lines_and_columns():
    """Loki "Troubleshoot queries": positions are line and column of the query text."""
    with pytest.raises(LogQLSyntaxError) as err:
        parse('sum(\n  count_over_time({app="a"} |= [5m]))')
    assert str(err.value).startswith("parse error at line 2, col 32: ")


@pytest.mark.parametrize("query", [
    '{app="a"} | pattern "<ip> <_>"',
    '{app="a"} | regexp "(?P<x>.)"',
    '{app="a"} | unpack',
    '{app="a"} | decolorize',
    '{app="a"} | distinct level',
    '{app="a"} |> "<_> error"',
    '{app="a"} |= ip("10.0.0.1")',
    '{app="a"} |= "a" or "b"',
    '{app="a"} | logfmt --strict',
    'count_over_time({app="a"}[5m:1m])',
    'abs(count_over_time({app="a"}[5m]))',
    'rate_counter({app="a"} | unwrap x [5m])',
    '{app="a"} | line_format "{{ printf \\"%s\\" .x }}"',
    '{app="a"} | line_format "{{ .x | b64enc }}"',
])
def test_constructs_not_implemented_are_refused(query):
    """Issue 3: what the engine does not support is refused with `unsupported LogQL: …`."""
    with pytest.raises(UnsupportedLogQL) as err:
        parse(query)
    assert str(err.value).startswith("unsupported LogQL: ")


@pytest.mark.parametrize("query, message", [
    ('{app=~".*"}', "queries require at least one regexp or equality matcher"),
    ('count_over_time({app="a"} | unwrap x [1m])', "invalid aggregation count_over_time with unwrap"),
    ('sum_over_time({app="a"}[1m])', "invalid aggregation sum_over_time without unwrap"),
    ('count_over_time({app="a"}[1m]) by (x)', "grouping not allowed for count_over_time aggregation"),
    ('sum_over_time({app="a"} | unwrap x [1m]) by (x)', "grouping not allowed for sum_over_time aggregation"),
    ('quantile_over_time({app="a"} | unwrap x [1m])', "parameter required for operation quantile_over_time"),
    ("1 > 2", "comparisons between scalars must use BOOL modifier"),
    ('count_over_time({app="a"}[1m]) + bool 1', "bool modifier can only be used on comparison operators"),
    ('{app="a"} + 1', "only metric queries can be combined"),
    ('{app="a"', "expecting ',' or '}'"),
    ('sum(count_over_time({app="a"}[1m])) and 1', 'set operator "and" not allowed'),
])
def test_invalid_queries_are_parse_errors_with_lokis_wording(query, message):
    """Loki "Metric queries: Range vector aggregation" validation and "Log stream selector" rules."""
    with pytest.raises(LogQLSyntaxError) as err:
        parse(query)
    assert message in str(err.value)


def test_log_range_forms_parse_to_the_same_tree():
    """Loki "Log range aggregations": the range may follow the selector or end the pipeline."""
    a = parse('count_over_time({app="a"} |= "x" [5m])')
    b = parse('count_over_time({app="a"}[5m] |= "x")')
    c = parse('count_over_time(({app="a"} |= "x")[5m])')
    assert a == b == c
    assert a.range.range_ns == 300 * 10**9


def test_offset_and_unwrap_conversions_parse():
    """Loki "Unwrapped range aggregations": duration_seconds() is duration(); `offset` follows the range."""
    e = parse('sum_over_time({app="a"} | json | unwrap duration_seconds(d) | __error__="" [1m] offset 2m)')
    assert e.range.offset_ns == 120 * 10**9
    assert e.range.unwrap.conversion == "duration" and e.range.unwrap.label == "d"
    assert len(e.range.unwrap.post_filters) == 1


def test_label_filter_precedence_and_binds_tighter_than_or():
    """Loki "Label filter expression": `and` (or `,`) binds tighter than `or`."""
    e = parse('{app="a"} | x="1" or y="2", z="3"')
    f = e.stages[0].filter
    assert isinstance(f, ast.LabelFilterBinary) and not f.is_and
    assert isinstance(f.right, ast.LabelFilterBinary) and f.right.is_and


def test_binary_operator_precedence_follows_promql():
    """Loki "Operators: Order of operations": ^ before * / % before + - before comparisons before and/unless before or."""
    assert parse("1 + 2 * 3").value == 7
    assert parse("2 ^ 3 ^ 2").value == 512
    assert parse("(1 + 2) * 3").value == 9
    assert parse("-2 + 5").value == 3


def test_literal_scalar_folding_divides_by_zero_as_nan():
    """Loki mergeBinOp: division and modulo by zero are NaN."""
    import math
    assert math.isnan(parse("1 / 0").value) and math.isnan(parse("0 / 0").value)
    assert math.isnan(parse("5 % 0").value)


@pytest.mark.parametrize("text, ns", [
    ("5m", 300 * 10**9), ("1h30m", 5400 * 10**9), ("250ms", 250 * 10**6), ("1.5h", 5400 * 10**9),
    ("7d", 7 * 86400 * 10**9), ("1w", 7 * 86400 * 10**9), ("90s", 90 * 10**9), ("1m30s", 90 * 10**9),
])
def test_parse_duration(text, ns):
    """Loki "Metric queries": durations use Prometheus' time duration syntax (Go's too)."""
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["", "5", "5x", "m5"])
def test_parse_duration_rejects_garbage(text):
    """Prometheus "Time durations": a number needs a unit."""
    with pytest.raises(LogQLError):
        parse_duration(text)


@pytest.mark.parametrize("text, ns", [
    ("2026-01-01T00:00:00Z", T0), ("2026-01-01T00:00:00.5Z", T0 + 500_000_000),
    ("2026-01-01T01:00:00+01:00", T0), ("2026-01-01T00:00:00.123456789Z", T0 + 123_456_789),
    ("1767225600", T0), ("1767225600.5", T0 + 500_000_000),
])
def test_parse_time(text, ns):
    """Loki HTTP API: times are RFC 3339 or Unix seconds."""
    assert parse_time(text) == ns


def test_regex_matchers_are_fully_anchored():
    """Loki "Log stream selector": regex matchers are fully anchored (=~"basecamp" is ^basecamp$)."""
    store = LogStore([Entry(T0, "x", {"app": "basecamp-integration"})])
    at = T0 + 10**9
    assert instant_query(store, 'count_over_time({app=~"basecamp"}[1m])', at).samples == []
    assert len(instant_query(store, 'count_over_time({app=~"basecamp.*"}[1m])', at).samples) == 1
    assert instant_query(store, 'count_over_time({app=~".+", app!~"basecamp"}[1m])', at).samples[0].value == 1
