"""`python -m logpipe lint`: both parsers must accept every expression found."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from logpipe.__main__ import main
from logpipe.lint import lezer

REPO = Path(__file__).resolve().parents[2]
GOOD = 'sum by (event) (count_over_time({app="basecamp-integration"} | json | status="failure" [5m]))'
GRAFANA_REJECTS = 'sum(count_over_time({app="basecamp-integration"}[5m])'
ONLY_OURS_REJECTS = '{app="basecamp-integration"} | pattern "<ip> - <_>"'


def dashboard(tmp_path: Path, *exprs: str) -> Path:
    panels = [{"title": f"p{i}", "datasource": {"type": "loki", "uid": "loki"},
               "targets": [{"refId": "A", "expr": e}]} for i, e in enumerate(exprs)]
    path = tmp_path / "dash.json"
    path.write_text(json.dumps({"panels": panels}))
    return path


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logpipe", "lint", *map(str, paths)], cwd=REPO,
                          capture_output=True, text=True, check=False)


def test_good_expression_passes_both(tmp_path: Path) -> None:
    proc = lint(dashboard(tmp_path, GOOD))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "lint: 1 LogQL expressions in 1 files pass logpipe's parser and Grafana's lezer-logql\n"


def test_expression_grafana_rejects_fails(tmp_path: Path) -> None:
    proc = lint(dashboard(tmp_path, GOOD, GRAFANA_REJECTS))
    assert proc.returncode == 1
    assert f"dash.json: panels[1].targets[0] (panel 'p1', refId A)\n    expr: {GRAFANA_REJECTS}\n" in proc.stderr
    assert "    logpipe: parse error at line 1, col" in proc.stderr
    assert "    grafana: rejected at line 1, col 54" in proc.stderr
    assert proc.stdout == "lint: FAILED: 1 of 2 LogQL expressions rejected\n"


def test_expression_only_our_parser_rejects_fails(tmp_path: Path) -> None:
    proc = lint(dashboard(tmp_path, ONLY_OURS_REJECTS))
    assert proc.returncode == 1
    assert "    logpipe: unsupported LogQL: " in proc.stderr
    assert "    grafana: accepted" in proc.stderr


def test_missing_node_modules_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(lezer, "PACKAGE", tmp_path / "node_modules" / "@grafana" / "lezer-logql" / "package.json")
    assert main(["lint", str(dashboard(tmp_path, GOOD))]) == 2
    err = capsys.readouterr().err
    assert "lint: cannot check with Grafana's grammar: @grafana/lezer-logql is not installed" in err
    assert "make node-deps" in err


def test_repository_lints_clean() -> None:
    proc = lint()
    assert proc.returncode == 0, proc.stdout + proc.stderr
