"""The generated rule tests pass in the engine, and they cover every rule."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from logpipe.monitoring import config
from logpipe.monitoring.alerts import ALERTS
from logpipe.monitoring.recording import RECORDING_RULES

ROOT = Path(__file__).resolve().parents[2]


def _tests() -> list[dict]:
    return [test for path in sorted(config.RULE_TEST_DIR.glob("*.yaml"))
            for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]]


@pytest.mark.slow
def test_rule_tests_pass() -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in config.RULE_TEST_DIR.glob("*.yaml"))
    result = subprocess.run([sys.executable, "-m", "logpipe", "rules", "test", *files],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("SUCCESS")


def test_every_alert_severity_fires_and_stays_silent_somewhere() -> None:
    fired, silent = set(), set()
    for test in _tests():
        for case in test.get("alert_rule_test", []):
            severities = {a["exp_labels"]["severity"] for a in case["exp_alerts"]}
            fired |= {(case["alertname"], s) for s in severities}
            silent |= {(case["alertname"], str(r.severity)) for alert in ALERTS
                       if alert.name == case["alertname"] for r in alert.rules
                       if str(r.severity) not in severities}
    every = {(alert.name, str(rule.severity)) for alert in ALERTS for rule in alert.rules}
    assert fired == every
    assert silent == every


def test_every_recording_rule_has_a_value_check() -> None:
    checked = {case["expr"] for test in _tests() for case in test.get("logql_expr_test", [])}
    for rule in RECORDING_RULES:
        assert rule.record in checked or rule.expr in checked, rule.record
