"""Where `logpipe lint` finds LogQL: rule files, rule test files, Loki dashboards, LOGQL_QUERIES modules."""
import json
from pathlib import Path

import pytest

from logpipe.lint.discover import discover

RULES = """\
groups:
  - name: basecamp
    rules:
      - record: basecamp:errors:count5m
        expr: sum(count_over_time({app="basecamp-integration", level="ERROR"}[5m]))
      - alert: Errors
        expr: sum(count_over_time({app="basecamp-integration", level="ERROR"}[5m])) > 3
"""
TESTS = """\
rule_files: [rules.yml]
tests:
  - logql_expr_test:
      - expr: basecamp:errors:count5m{env="prod"}
        eval_time: 5m
      - expr: sum(rate({app="basecamp-integration"}[1m]))
        eval_time: 5m
"""


def exprs(found: list) -> list[tuple[str, str, str]]:
    return [(f.file.name, f.where, f.expr) for f in found]


def test_rule_and_test_files(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "test.yml").write_text(TESTS)
    (tmp_path / "other.yaml").write_text("expr: not-a-rule-file\nitems: [1, 2]\n")
    found, problems = discover([tmp_path], tmp_path)
    assert problems == []
    assert exprs(found) == [
        ("rules.yml", "line 5 (groups[0].rules[0].expr)",
         'sum(count_over_time({app="basecamp-integration", level="ERROR"}[5m]))'),
        ("rules.yml", "line 7 (groups[0].rules[1].expr)",
         'sum(count_over_time({app="basecamp-integration", level="ERROR"}[5m])) > 3'),
        # the recording-rule name is not LogQL and is left out
        ("test.yml", "line 6 (tests[0].logql_expr_test[1].expr)", 'sum(rate({app="basecamp-integration"}[1m]))'),
    ]


def test_dashboard_targets_of_loki_panels_only(tmp_path: Path) -> None:
    dashboard = {"panels": [
        {"title": "Errors", "datasource": {"type": "loki", "uid": "loki"},
         "targets": [{"refId": "A", "expr": 'sum(count_over_time({app="x"}[5m]))'}]},
        {"title": "CPU", "datasource": {"type": "prometheus", "uid": "prom"},
         "targets": [{"refId": "A", "expr": "rate(cpu[5m])"}]},
        {"type": "row", "title": "Row", "panels": [
            {"title": "Mixed", "datasource": {"uid": "-- Mixed --"},
             "targets": [{"refId": "B", "datasource": {"uid": "loki"}, "expr": '{app="x"} |= "error"'},
                         {"refId": "C", "datasource": {"uid": "prom"}, "expr": "up"}]}]},
    ]}
    (tmp_path / "d.json").write_text(json.dumps(dashboard))
    (tmp_path / "schema.json").write_text(json.dumps({"type": "object"}))
    found, problems = discover([tmp_path], tmp_path)
    assert problems == []
    assert exprs(found) == [
        ("d.json", "panels[0].targets[0] (panel 'Errors', refId A)", 'sum(count_over_time({app="x"}[5m]))'),
        ("d.json", "panels[2].panels[0].targets[0] (panel 'Mixed', refId B)", '{app="x"} |= "error"'),
    ]


def test_python_modules_declaring_logql_queries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "lintpkg_demo"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "queries.py").write_text(
        "from collections.abc import Mapping\n"
        "LOGQL_QUERIES: Mapping[str, str] = {'errors': 'sum(count_over_time({app=\"x\"}[5m]))'}\n")
    # never imported: it does not assign LOGQL_QUERIES at module level
    (package / "explodes.py").write_text("raise RuntimeError('imported')\ndef f():\n    LOGQL_QUERIES = {}\n")
    (package / "bad.py").write_text("LOGQL_QUERIES = ['not', 'a', 'mapping']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found, problems = discover([package], tmp_path)
    assert exprs(found) == [
        ("queries.py", "lintpkg_demo.queries.LOGQL_QUERIES['errors']", 'sum(count_over_time({app="x"}[5m]))')]
    assert [(p.file.name, p.message) for p in problems] == [
        ("bad.py", "cannot import its LOGQL_QUERIES: TypeError: lintpkg_demo.bad.LOGQL_QUERIES must be a Mapping[str, str]")]


def test_unreadable_yaml_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text("groups: [\n")
    found, problems = discover([tmp_path], tmp_path)
    assert found == [] and [p.file.name for p in problems] == ["broken.yml"]
    assert problems[0].message.startswith("cannot read: ")
