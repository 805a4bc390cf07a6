"""Log pipeline stages of the LogQL engine: each expectation is worked out by hand from the lines."""
import json

import pytest

from logpipe.logql import Entry, LogQLError, LogStore, instant_query

T0 = 1_767_225_600 * 10**9
S = 10**9
APP = {"app": "svc"}


def store(*lines, labels=APP):
    """Lines at T0+1s, T0+2s, ...; dicts are written as JSON."""
    return LogStore(Entry(T0 + (i + 1) * S, json.dumps(l) if isinstance(l, dict) else l, labels)
                    for i, l in enumerate(lines))


def log_lines(st, query):
    """Lines of a log query, oldest first."""
    result = instant_query(st, query, T0 + 60 * S, direction="forward")
    return sorted((t, line) for s in result.streams for t, line in s.entries)


def stream_labels(st, query):
    """Label sets of a log query's streams, in a stable order."""
    result = instant_query(st, query, T0 + 60 * S, direction="forward")
    return sorted((s.labels for s in result.streams), key=lambda d: sorted(d.items()))


def counts(st, query):
    """An instant metric query at T0+60s as {frozenset(labels): value}."""
    return {frozenset(s.labels.items()): s.value for s in instant_query(st, query, T0 + 60 * S).samples}


def test_line_filters_chain():
    """Loki "Line filter expression": |= contains, != not, |~ regex match, !~ regex no match; chained = and."""
    st = store("foo baz", "foo bar baz", "foo bax", "foo baz qux", "nothing")
    got = log_lines(st, '{app="svc"} |= "foo" != "bar" |~ "ba[zx]" !~ "qux"')
    assert [line for _, line in got] == ["foo baz", "foo bax"]


def test_line_filter_regex_is_not_anchored():
    """Loki "Line filter expression": |~ matches anywhere in the line (unlike label matchers)."""
    st = store("an error here", "fine")
    assert [line for _, line in log_lines(st, '{app="svc"} |~ "err"')] == ["an error here"]


def test_json_flattens_sanitises_and_converts_values():
    """Loki "Parser expression: JSON": nested keys joined with _, invalid characters become _, a leading
    digit gets _; strings unquoted, numbers kept as written, booleans true/false, null and arrays skipped."""
    line = '{"a":{"b":{"c":1.50}},"my-key":"v","1st":"x","ok":true,"no":false,"nil":null,"arr":[1,2],"n":-7}'
    labels = stream_labels(store(line), '{app="svc"} | json')
    assert labels == [{"app": "svc", "a_b_c": "1.50", "my_key": "v", "_1st": "x", "ok": "true", "no": "false",
                       "n": "-7"}]


def test_json_label_clashing_with_a_stream_label_gets_extracted_suffix():
    """Loki "Parser expression": an extracted label named like a stream label gets the _extracted suffix."""
    labels = stream_labels(store({"app": "inner", "event": "e"}), '{app="svc"} | json')
    assert labels == [{"app": "svc", "app_extracted": "inner", "event": "e"}]


def test_json_parser_error_sets_error_labels_and_keeps_the_line():
    """Loki "Log queries: Pipeline errors": a line json cannot parse gets __error__="JSONParserErr"."""
    st = store("not json", {"status": "ok"})
    labels = stream_labels(st, '{app="svc"} | json')
    errored = [l for l in labels if "__error__" in l]
    assert len(errored) == 1 and errored[0]["__error__"] == "JSONParserErr"
    assert errored[0]["__error_details__"] != ""
    assert stream_labels(st, '{app="svc"} | json | __error__=""') == [{"app": "svc", "status": "ok"}]
    assert [l for _, l in log_lines(st, '{app="svc"} | json | __error__!=""')] == ["not json"]


def test_json_expression_form_extracts_paths():
    """Loki "Parser expression: JSON" with parameters: `json label="path"`, missing paths give ""."""
    st = store({"status": "failure", "metadata": {"http_status": 503, "list": ["a", "b"]}})
    labels = stream_labels(st, '{app="svc"} | json s="status", code="metadata.http_status", '
                               'second="metadata.list[1]", gone="metadata.missing"')
    assert labels == [{"app": "svc", "s": "failure", "code": "503", "second": "b", "gone": ""}]


def test_json_expression_values_are_the_raw_json_text():
    """Loki "Parser expression: JSON" (parameters) reads values with jsonparser.EachKey: string escapes
    are kept, numbers as written, objects as their JSON text, null as ""."""
    line = '{"msg": "say \\"hi\\"", "n": 1.50, "o": {"k": [1, 2]}, "z": null}'
    labels = stream_labels(store(line), '{app="svc"} | json msg="msg", n="n", o="o", z="z", k1="o.k[1]"')
    assert labels == [{"app": "svc", "msg": 'say \\"hi\\"', "n": "1.50", "o": '{"k": [1, 2]}', "z": "", "k1": "2"}]


def test_logfmt_extracts_pairs():
    """Loki "Parser expression: logfmt": key=value pairs, quoted values unquoted, bare keys empty."""
    labels = stream_labels(store('level=info msg="hello world" dur=5ms app=x flag'), '{app="svc"} | logfmt')
    assert labels == [{"app": "svc", "level": "info", "msg": "hello world", "dur": "5ms", "app_extracted": "x",
                       "flag": ""}]


def test_string_and_regex_label_filters():
    """Loki "Label filter expression": string = != and anchored regex =~ !~ on extracted labels."""
    st = store({"status": "failure"}, {"status": "success"}, {"status": "failed"})
    q = '{app="svc"} | json | status=~"fail"'
    assert log_lines(st, q) == []
    assert len(log_lines(st, '{app="svc"} | json | status=~"fail.*"')) == 2
    assert len(log_lines(st, '{app="svc"} | json | status!="failure"')) == 2


def test_numeric_duration_and_bytes_filters():
    """Loki "Label filter expression": numbers, durations (250ms) and bytes (1KB) compare by value."""
    st = store({"n": "5", "d": "300ms", "b": "2KB"}, {"n": "1.5", "d": "1s", "b": "900B"},
               {"n": "10", "d": "100ms", "b": "1KiB"})
    assert len(log_lines(st, '{app="svc"} | json | n > 2')) == 2
    assert len(log_lines(st, '{app="svc"} | json | n = 10')) == 1
    assert len(log_lines(st, '{app="svc"} | json | n == 1.5')) == 1
    assert len(log_lines(st, '{app="svc"} | json | d > 250ms')) == 2
    assert len(log_lines(st, '{app="svc"} | json | d <= 100ms')) == 1
    assert len(log_lines(st, '{app="svc"} | json | b >= 1KB')) == 2  # 2000 and 1024 bytes


def test_and_or_comma_combinations():
    """Loki "Label filter expression": `,` and `and` are conjunctions, `or` a disjunction, and binds tighter."""
    st = store({"a": "1", "b": "1"}, {"a": "1", "b": "2"}, {"a": "2", "b": "2"}, {"a": "3", "b": "3"})
    assert len(log_lines(st, '{app="svc"} | json | a="1", b="2"')) == 1
    assert len(log_lines(st, '{app="svc"} | json | a="1" and b="2"')) == 1
    assert len(log_lines(st, '{app="svc"} | json | a="3" or a="1" and b="1"')) == 2
    assert len(log_lines(st, '{app="svc"} | json | (a="3" or a="1") and b="1"')) == 1


def test_label_filter_on_a_missing_label():
    """Loki label_filter.go: a string filter compares a missing label as ""; a numeric filter drops the line."""
    st = store({"x": "1"}, {"y": "1"})
    assert len(log_lines(st, '{app="svc"} | json | x=""')) == 1
    assert len(log_lines(st, '{app="svc"} | json | x!="1"')) == 1
    assert len(log_lines(st, '{app="svc"} | json | x >= 0')) == 1


def test_numeric_filter_on_a_non_number_sets_label_filter_error():
    """Loki "Log queries: Pipeline errors": a conversion failure in a label filter keeps the line with
    __error__="LabelFilterErr" (details: Go's strconv message)."""
    st = store({"n": "abc"}, {"n": "7"})
    labels = stream_labels(st, '{app="svc"} | json | n > 5')
    assert {"app": "svc", "n": "7"} in labels
    err = [l for l in labels if "__error__" in l][0]
    assert err["__error__"] == "LabelFilterErr"
    assert err["__error_details__"] == 'strconv.ParseFloat: parsing "abc": invalid syntax'
    assert stream_labels(st, '{app="svc"} | json | n > 5 | __error__=""') == [{"app": "svc", "n": "7"}]


def test_drop_and_keep():
    """Loki "Drop labels expression" and "Keep labels expression", with and without a value matcher."""
    st = store({"a": "1", "level": "debug"}, {"a": "2", "level": "info"})
    assert stream_labels(st, '{app="svc"} | json | drop a, level="debug"') == [
        {"app": "svc"}, {"app": "svc", "level": "info"}]
    assert stream_labels(st, '{app="svc"} | json | keep a') == [{"a": "1"}, {"a": "2"}]
    assert stream_labels(st, '{app="svc"} | json | keep app, level="info"') == [
        {"app": "svc"}, {"app": "svc", "level": "info"}]


def test_drop_error_labels_rescues_a_metric_query():
    """Loki "Drop labels expression": dropping __error__ and __error_details__ removes the error."""
    st = store("not json", {"a": "1"})
    got = counts(st, 'count_over_time({app="svc"} | json | drop __error__, __error_details__ [1m])')
    assert got == {frozenset({"app": "svc"}.items()): 1, frozenset({"app": "svc", "a": "1"}.items()): 1}


def test_label_format_renames_and_templates():
    """Loki "Labels format expression": dst=src renames (src removed); dst="{{...}}" renders a template."""
    st = store({"status": "failure", "code": "503"})
    labels = stream_labels(st, '{app="svc"} | json | label_format outcome=status, msg="{{.code}}-{{ .status }}"')
    assert labels == [{"app": "svc", "code": "503", "outcome": "failure", "msg": "503-"}]


def test_line_format_rewrites_the_line_and_bytes_follow_it():
    """Loki "Line format expression": the template output replaces the line; missing labels render as ""."""
    st = store({"status": "failure", "code": "503"})
    got = log_lines(st, '{app="svc"} | json | line_format "{{.status | ToUpper}} {{.code}} [{{.nope}}]"')
    assert [line for _, line in got] == ["FAILURE 503 []"]
    got = counts(st, 'bytes_over_time({app="svc"} | json | line_format "{{.code}}" | drop code, status [1m])')
    assert got == {frozenset(APP.items()): 3.0}


def test_line_format_can_use_the_original_line():
    """Loki "Line format expression": __line__ is the current line."""
    got = log_lines(store("abc"), '{app="svc"} | line_format "<{{ __line__ }}>"')
    assert [line for _, line in got] == ["<abc>"]


@pytest.mark.parametrize("query, expected", [
    ('sum(sum_over_time({app="svc"} | json | unwrap v [1m]))', 3.5),
    ('sum(sum_over_time({app="svc"} | json | unwrap duration(d) [1m]))', 1.75),
    ('sum(sum_over_time({app="svc"} | json | unwrap bytes(b) [1m]))', 3024.0),
])
def test_unwrap_conversions(query, expected):
    """Loki "Unwrapped range aggregations": plain floats, duration() in seconds, bytes() in bytes."""
    st = store({"v": "1.5", "d": "250ms", "b": "1KiB"}, {"v": "2", "d": "1.5s", "b": "2KB"})
    assert counts(st, query) == {frozenset(): expected}


def test_unwrap_of_a_non_number_fails_the_metric_query_like_loki():
    """Loki "Log queries: Pipeline errors": unwrap of "abc" sets __error__=SampleExtractionErr and a metric
    query with samples still carrying __error__ fails with Loki's message."""
    st = store({"v": "abc"}, {"v": "2"})
    with pytest.raises(LogQLError) as err:
        counts(st, 'sum_over_time({app="svc"} | json | unwrap v [1m])')
    text = str(err.value)
    assert text.startswith("pipeline error: 'SampleExtractionErr' for series: '{__error__=\"SampleExtractionErr\"")
    assert 'Use a label filter to intentionally skip this error. (e.g | __error__!="SampleExtractionErr")' in text
    got = counts(st, 'sum_over_time({app="svc"} | json | unwrap v | __error__="" [1m])')
    assert got == {frozenset(APP.items()): 2.0}


def test_unwrap_skips_lines_without_the_label():
    """Loki metrics_extraction.go: a line whose unwrapped label is missing or empty gives no sample."""
    st = store({"v": "4"}, {"w": "1"}, {"v": ""})
    assert counts(st, 'sum_over_time({app="svc"} | json | unwrap v [1m])') == {frozenset(APP.items()): 4.0}


def test_json_parser_error_fails_a_metric_query_only_inside_the_window():
    """Loki "Log queries: Pipeline errors": the error fails the query only when an errored sample is in a window."""
    st = LogStore([Entry(T0, "bad", APP), Entry(T0 + 120 * S, '{"a":"1"}', APP)])
    with pytest.raises(LogQLError, match="pipeline error: 'JSONParserErr'"):
        instant_query(st, 'count_over_time({app="svc"} | json [5m])', T0 + 150 * S)
    got = instant_query(st, 'count_over_time({app="svc"} | json [1m])', T0 + 150 * S)
    assert [(s.labels, s.value) for s in got.samples] == [({"app": "svc", "a": "1"}, 1.0)]


@pytest.mark.parametrize("fast_json", [True, False])
def test_numbers_keep_their_text_in_folded_sum_by(monkeypatch, fast_json):
    """Loki "Parser expression: JSON": numbers become labels as written (1.50, -0, big integers), also
    when only the grouped labels are extracted (Loki's parser hints), with or without orjson."""
    from logpipe.logql import pipeline
    if not fast_json:
        monkeypatch.setattr(pipeline, "_orjson", None)
    st = store('{"n": 1.50}', '{"n": -0}', '{"n": 123456789012345678901234567890}', '{"n": 7}', '{"n": 7}')
    got = counts(st, 'sum by (n) (count_over_time({app="svc"} | json [1m]))')
    assert got == {frozenset({("n", "1.50")}): 1.0, frozenset({("n", "-0")}): 1.0,
                   frozenset({("n", "123456789012345678901234567890")}): 1.0, frozenset({("n", "7")}): 2.0}


def test_parser_errors_can_be_counted_under_sum_by():
    """Loki parser hints (PreserveError): when a `sum by` query names __error__, parser errors are kept as
    samples instead of failing the query; without grouping the same range aggregation fails."""
    st = store("not json", "{broken", {"a": "1"})
    got = counts(st, 'sum by (__error__) (count_over_time({app="svc"} | json | __error__!="" [1m]))')
    assert got == {frozenset({("__error__", "JSONParserErr")}): 2.0}
    with pytest.raises(LogQLError, match="pipeline error: 'JSONParserErr'"):
        counts(st, 'count_over_time({app="svc"} | json | __error__!="" [1m])')
