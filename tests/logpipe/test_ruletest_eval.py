"""Runner semantics: evaluation errors, value tolerance, log-query expressions, group intervals."""
import io
import math
import textwrap
from pathlib import Path

import pytest

from logpipe.ruletest.runner import almost_equal
from logpipe.ruletest.suite import run_files

STREAM = '{app="basecamp-integration", env="prod"}'


def run(tmp_path: Path, rules: str, tests: str) -> tuple[int, str, str]:
    (tmp_path / "rules.yml").write_text(textwrap.dedent(rules))
    (tmp_path / "t.yml").write_text(textwrap.dedent(tests))
    out, err = io.StringIO(), io.StringIO()
    return run_files([tmp_path / "t.yml"], out, err), out.getvalue(), err.getvalue()


def test_evaluation_error_is_reported_at_its_time_and_stops_the_group(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, """\
        groups:
          - name: g
            rules:
              - alert: Parsed
                expr: sum(count_over_time({app="basecamp-integration"} | json [5m])) > 0
        """, f"""\
        rule_files: [rules.yml]
        tests:
          - input_streams:
              - labels: '{STREAM}'
                lines:
                  - {{at: 0m, line: {{level: INFO}}}}
                  - {{at: 2m, line: 'not json'}}
            alert_rule_test:
              - {{eval_time: 1m, alertname: Parsed, exp_alerts: [{{exp_labels: {{}}}}]}}
              - {{eval_time: 3m, alertname: Parsed, exp_alerts: []}}
        """)
    assert code == 1
    assert err.startswith("  FAILED:\n    rule: Parsed, time: 2m0s, err: ")
    assert "JSONParserErr" in err
    assert out.endswith("FAILED: 1 passed, 1 failed\n")  # 1m passed; 3m was never reached


def test_log_query_in_expr_test_is_an_error(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "groups: []\n", f"""\
        rule_files: [rules.yml]
        tests:
          - input_streams: [{{labels: '{STREAM}', lines: [{{at: 0m, line: x}}]}}]
            logql_expr_test:
              - {{expr: '{STREAM}', eval_time: 1m, exp_samples: []}}
        """)
    assert code == 1
    assert err == ('  FAILED:\n    expr: "{app=\\"basecamp-integration\\", env=\\"prod\\"}", time: 1m, '
                   "err: query result is a log stream, not a vector or scalar\n")


def test_group_interval_is_honoured(tmp_path: Path) -> None:
    """A 5m group is evaluated at 0m, 5m, …: the recorded series at 9m is the one from 5m."""
    code, _, err = run(tmp_path, """\
        groups:
          - name: slow
            interval: 5m
            rules:
              - record: lines:count10m
                expr: sum(count_over_time({app="basecamp-integration"}[10m]))
        """, f"""\
        rule_files: [rules.yml]
        tests:
          - input_streams: [{{labels: '{STREAM}', lines: [{{at: 0m, repeat: 10, every: 1m, line: x}}]}}]
            logql_expr_test:
              - expr: lines:count10m
                eval_time: 9m
                exp_samples: [{{labels: 'lines:count10m', value: 6}}]
              - expr: lines:count10m{{__name__=~"lines:.*"}}
                eval_time: 10m
                exp_samples: [{{labels: 'lines:count10m', value: 9}}]  # (0m, 10m]: the 0m line is out
              - expr: sum(count_over_time({{app="basecamp-integration"}}[10m]))
                eval_time: 9m
                exp_samples: [{{labels: '{{}}', value: 10}}]
        """)
    assert (code, err) == (0, "")


def test_unknown_recording_rule_name_is_an_error(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "groups: []\n", f"""\
        rule_files: [rules.yml]
        tests:
          - input_streams: [{{labels: '{STREAM}', lines: [{{at: 0m, line: x}}]}}]
            logql_expr_test: [{{expr: 'no_such:rule', eval_time: 1m}}]
        """)
    assert code == 1 and "err: no_such:rule is not a recording rule in rule_files" in err


@pytest.mark.parametrize(("a", "b", "equal"), [
    (0.95, 0.95 * (1 + 5e-10), True),
    (0.95, 0.95 * (1 + 5e-9), False),
    (0.0, 1e-12, False),
    (math.nan, math.nan, True),
    (math.inf, math.inf, True),
    (math.inf, -math.inf, False),
    (1.0, math.nan, False),
])
def test_relative_tolerance(a: float, b: float, equal: bool) -> None:
    assert almost_equal(a, b) is equal
