"""Invalid rule and test files: a clear error naming the file and the problem, exit code 2."""
import io
import textwrap
from pathlib import Path

import pytest

from logpipe.ruletest.suite import run_files

STREAM = '{app="basecamp-integration", level="ERROR", event="basecamp_token_refresh"}'
RULE = 'sum(count_over_time({app="basecamp-integration"}[5m])) > 1'


def rules_file(rule: str) -> str:
    return "groups:\n  - name: g\n    rules:\n" + textwrap.indent(textwrap.dedent(rule), "      ")


def yaml_of_test(body: str = "") -> str:
    return textwrap.dedent(f"""\
        rule_files: [rules.yml]
        tests:
          - input_streams:
              - labels: '{STREAM}'
                lines: [{{at: 0m, line: {{level: ERROR}}}}]
        """) + body


def run(tmp_path: Path, rules: str, test: str) -> tuple[int, str]:
    (tmp_path / "rules.yml").write_text(rules)
    (tmp_path / "t.yml").write_text(test)
    out, err = io.StringIO(), io.StringIO()
    code = run_files([tmp_path / "t.yml"], out, err)
    return code, err.getvalue()


@pytest.mark.parametrize(("rule", "message"), [
    (f"- alert: A\n  exprr: '{RULE}'\n", "rules.yml: group 'g': rules[0]: unknown key 'exprr'"),
    (f"- alert: A\n  expr: '{RULE}'\n  label: {{a: b}}\n", "unknown key 'label'"),
    (f"- record: 'bad name'\n  expr: '{RULE}'\n", "invalid recording rule name 'bad name'"),
    (f"- record: r\n  alert: A\n  expr: '{RULE}'\n", "exactly one of 'record' and 'alert'"),
    (f"- record: r\n  expr: '{RULE}'\n  for: 5m\n", "invalid field 'for' in a recording rule"),
    ("- alert: A\n  expr: '{app=\"x\"} |= \"error\"'\n", "is a log query; Loki's ruler only accepts metric queries"),
    ("- alert: A\n  expr: 'sum(count_over_time({app=\"x\"}[5m])'\n", "parse error at line 1, col"),
    (f"- alert: A\n  expr: '{RULE}'\n  annotations: {{s: '{{{{ title $labels.x }}}}'}}\n",
     "template 's': function \"title\" is not supported"),
    (f"- alert: A\n  expr: '{RULE}'\n  for: 5 minutes\n", "for: invalid duration '5 minutes'"),
    (f"- alert: A\n  expr: '{RULE}'\n  keep_firing_for: 5m\n", "key 'keep_firing_for' is not supported"),
])
def test_rule_file_errors(tmp_path: Path, rule: str, message: str) -> None:
    code, err = run(tmp_path, rules_file(rule), yaml_of_test())
    assert code == 2
    assert err.startswith("  FAILED:\n" + str(tmp_path / "rules.yml"))
    assert message in err


@pytest.mark.parametrize(("body", "message"), [
    ("    input_stream: []\n", "tests[0]: unknown key 'input_stream'"),
    ("    alert_rule_test: [{eval_time: 1m, alertname: Typo}]\n", "no alerting rule named 'Typo'"),
    ("    logql_expr_test: [{expr: 'vector(1)', eval_time: 1m, exp_samples: [{labels: '{a=~\"x\"}', value: 1}]}]\n",
     "may only use =, not =~"),
    ("    alert_rule_test: [{eval_time: soon, alertname: A}]\n", "eval_time: invalid duration 'soon'"),
])
def test_test_file_errors(tmp_path: Path, body: str, message: str) -> None:
    code, err = run(tmp_path, rules_file(f"- alert: A\n  expr: '{RULE}'\n"), yaml_of_test(body))
    assert code == 2
    assert str(tmp_path / "t.yml") in err and message in err


def test_repeated_key_is_an_error(tmp_path: Path) -> None:
    code, err = run(tmp_path, rules_file(f"- alert: A\n  expr: '{RULE}'\n  expr: '{RULE}'\n"), yaml_of_test())
    assert code == 2 and "key 'expr' repeated" in err


def test_line_may_not_set_timestamp(tmp_path: Path) -> None:
    test = yaml_of_test().replace("{level: ERROR}", "{level: ERROR, timestamp: '2026-01-01T00:00:00Z'}")
    code, err = run(tmp_path, rules_file(f"- alert: A\n  expr: '{RULE}'\n"), test)
    assert code == 2 and "line sets 'timestamp'" in err


def test_unknown_line_template_is_an_error(tmp_path: Path) -> None:
    test = yaml_of_test().replace("{level: ERROR}", "'{{ .at }}'")
    code, err = run(tmp_path, rules_file(f"- alert: A\n  expr: '{RULE}'\n"), test)
    assert code == 2 and "line templates support only {{ .i }}" in err
