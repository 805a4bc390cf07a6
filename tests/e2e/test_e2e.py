"""`make e2e` at a test size: three scenarios through the whole chain, every row must match."""
from __future__ import annotations

from pathlib import Path

import pytest

from logpipe.e2e.__main__ import main
from logpipe.e2e.check import evaluate, event_rows, metric_rows
from logpipe.e2e.run import Result, run_scenario
from logpipe.e2e.scenarios import degraded, faulty, healthy
from logpipe.e2e.servers import Services
from logpipe.e2e.table import text

USERS, SEED, PASSES = 16, 11, 3
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    keep = tmp_path_factory.mktemp("e2e")
    scenarios = [healthy(USERS, SEED), degraded(USERS, SEED, PASSES), faulty(USERS, SEED)]
    return {s.name: run_scenario(s, keep) for s in scenarios}


@pytest.mark.parametrize("name", ["healthy", "degraded", "faulty"])
def test_every_number_matches_the_ground_truth(results: dict[str, Result], name: str) -> None:
    result = results[name]
    assert result.ok, text(result)
    sections = {row.section for row in result.rows}
    assert {"events (none lost)", "alerts firing at C", "Alertmanager notifications", "secrets"} <= sections


def test_faulty_alerts_reach_pagerduty_and_slack(results: dict[str, Result]) -> None:
    delivered = {row.metric.split(" ← ")[0] for row in results["faulty"].rows
                 if row.section == "Alertmanager notifications" and row.logs == "delivered"}
    assert {"/pagerduty/oncall-critical", "/slack/oncall-critical"} <= delivered
    warnings = {row.metric.split(" ← ")[0] for row in results["degraded"].rows if row.logs == "delivered"}
    assert warnings == {"/slack/slack-monitoring"}


def test_a_lost_event_is_caught(results: dict[str, Result], tmp_path: Path) -> None:
    """The check is not vacuous: drop one token-refresh event from the log and rows fail."""
    result = results["faulty"]
    assert result.log is not None
    lines = result.log.read_text().splitlines(keepends=True)
    victim = next(i for i, line in enumerate(lines) if '"event":"basecamp_token_refresh"' in line)
    damaged = tmp_path / "events.jsonl"
    damaged.write_text("".join(lines[:victim] + lines[victim + 1:]))
    ev = evaluate(damaged)
    failed = {row.metric for row in [*metric_rows(ev, result.truth), *event_rows(ev, result.truth)] if not row.match}
    assert "basecamp_token_refresh_success_rate" in failed, failed
    assert any(m.startswith("basecamp_token_refresh{") for m in failed), failed


def test_command_line_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "e2e.md"
    assert main(["--scenario", "healthy", "--users", "12", "--refresh-passes", "1", "--out", str(out)]) == 0
    assert "ALL MATCH" in capsys.readouterr().out
    assert "| metric | from logs | from ground truth | match |" in out.read_text()


def test_the_secret_scan_finds_a_leaked_token(tmp_path: Path) -> None:
    services = Services(tmp_path, 1.0)
    services.handed_out.update({"tok-3f9a1c", "pw-77ab"})
    services.event_log.write_text('{"message":"ok"}\n{"error":"Bearer tok-3f9a1c rejected"}\n')
    (tmp_path / "app.stderr").write_text("login pw-77ab\nfine\n")
    assert services.leaked() == ['{"error":"Bearer tok-3f9a1c rejected"}', "login pw-77ab"]
