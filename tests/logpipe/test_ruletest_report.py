"""Failure output, compared with what promtool 2.42 printed for the same expectations and results."""
from logpipe.ruletest.gofmt import duration_str, go_duration_str
from logpipe.ruletest.report import alert_failure, eval_failure, expr_failure

MIN = 60 * 10**9

PROMTOOL_ALERT = '''    name: t1,
    alertname: Down, time: 5m, 
        exp:[
            0:
              Labels:{alertname="Down", instance="i1", job="a", severity="page"}
              Annotations:{summary="x"}
            ], 
        got:[
            0:
              Labels:{alertname="Down", instance="i1", job="a", severity="page"}
              Annotations:{h="1.235M 12.35% 1h 2m 3s 0.00", summary="i1 down 0 c1"}
            ]'''

PROMTOOL_EMPTY = '''    name: t1,
    alertname: Down, time: 1m, 
        exp:[
            0:
              Labels:{alertname="Down", instance="i1"}
              Annotations:{}
            ], 
        got:[]'''

PROMTOOL_EXPR = '''    expr: "up", time: 5m,
        exp: nil
        got: {__name__="up", instance="i1", job="a"} 0E+00, {__name__="up", instance="i2", job="a"} 1E+00'''


def test_alert_failure_is_promtools() -> None:
    labels = {"alertname": "Down", "instance": "i1", "job": "a", "severity": "page"}
    got = [(labels, {"h": "1.235M 12.35% 1h 2m 3s 0.00", "summary": "i1 down 0 c1"})]
    assert alert_failure("t1", "Down", 5 * MIN, [(labels, {"summary": "x"})], got) == PROMTOOL_ALERT
    exp = [({"alertname": "Down", "instance": "i1"}, {})]
    assert alert_failure("t1", "Down", MIN, exp, []) == PROMTOOL_EMPTY


def test_expr_failure_is_promtools() -> None:
    got = [({"__name__": "up", "instance": "i1", "job": "a"}, 0.0), ({"__name__": "up", "instance": "i2", "job": "a"}, 1.0)]
    assert expr_failure("up", 5 * MIN, [], got) == PROMTOOL_EXPR


def test_eval_failure_uses_go_durations() -> None:
    assert eval_failure("R", 5 * MIN, "boom") == "    rule: R, time: 5m0s, err: boom"


def test_duration_formats() -> None:
    assert [duration_str(n * MIN) for n in (0, 5, 90, 1440, 10080)] == ["0s", "5m", "1h30m", "1d", "1w"]
    assert [go_duration_str(n) for n in (0, 1_500_000, 90 * MIN, 61 * 10**9 + 500_000_000)] == \
        ["0s", "1.5ms", "1h30m0s", "1m1.5s"]
