"""Grafana's grammar through check.mjs (needs `make node-deps`), and the message when it is missing."""
from pathlib import Path

import pytest

from logpipe.lint import lezer


def test_verdicts_for_good_and_bad_expressions() -> None:
    good = 'sum by (event) (count_over_time({app="basecamp-integration"} | json | level="ERROR" [5m]))'
    bad = 'sum(rate({app="x"}[5m])'
    multiline = '{app="x"}\n  | json |= '
    assert lezer.check([good, bad, multiline]) == [
        lezer.Verdict(True),
        lezer.Verdict(False, line=1, col=24, near=""),
        lezer.Verdict(False, line=2, col=13, near=""),
    ]


def test_missing_node_modules_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(lezer.LezerUnavailable, match=r"@grafana/lezer-logql is not installed .*make node-deps"):
        lezer.check(["vector(1)"], package=tmp_path / "missing" / "package.json")


def test_missing_node_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(lezer.LezerUnavailable, match=r"Node.js \(`node`\) is not installed"):
        lezer.check(["vector(1)"])
