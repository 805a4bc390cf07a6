"""Differential check of alert states: the same value sequence through promtool (PromQL series) and
through `logpipe rules test` (LogQL over log lines) must give the same firing alerts at every minute."""
import shutil
import subprocess
from pathlib import Path

import yaml

from logpipe.ruletest.alerting import AlertingRule
from logpipe.ruletest.gotemplate import Template
from logpipe.ruletest.rulefile import Rule
from logpipe.ruletest.suite import run_files

MIN = 60 * 10**9
# errors per minute: holds, breaks, holds again, flaps, resolves
COUNTS = [3, 3, 3, 0, 3, 3, 1, 3, 3, 3, 3, 0, 0, 3, 3, 3]
RULES = {"for2m": "2m", "for0": "0m"}
ANNOTATIONS = {"summary": "{{ $value }} errors ({{ $labels.env }})"}


def expected_firing() -> list[dict[str, list]]:
    """Our state machine fed the same vectors; becomes the expectation for both tools."""
    machines = {name: AlertingRule(Rule("alert", name, "", int(hold[:-1]) * MIN, {"severity": "page"},
                                        ANNOTATIONS, {"severity": Template("page")},
                                        {k: Template(v) for k, v in ANNOTATIONS.items()}), {})
                for name, hold in RULES.items()}
    out = []
    for minute, count in enumerate(COUNTS):
        vector = [({"env": "prod"}, float(count))] if count > 2 else []
        firing = {}
        for name, machine in machines.items():
            machine.eval(minute * MIN, vector)
            firing[name] = [{"exp_labels": {k: v for k, v in a.labels.items() if k != "alertname"},
                             "exp_annotations": a.annotations} for a in machine.firing()]
        out.append(firing)
    return out


def alert_tests(firing: list[dict[str, list]]) -> list[dict]:
    return [{"eval_time": f"{minute}m", "alertname": name, "exp_alerts": alerts}
            for minute, by_rule in enumerate(firing) for name, alerts in by_rule.items()]


def test_promtool_and_logpipe_agree_minute_by_minute(tmp_path: Path) -> None:
    firing = expected_firing()
    assert any(f["for2m"] for f in firing) and any(not f["for2m"] and f["for0"] for f in firing)
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run `make setup` (Debian package prometheus)"

    def rules(expr: str) -> dict:
        return {"groups": [{"name": "g", "interval": "1m", "rules": [
            {"alert": name, "expr": expr, "for": hold, "labels": {"severity": "page"}, "annotations": ANNOTATIONS}
            for name, hold in RULES.items()]}]}

    prom = tmp_path / "prom"
    prom.mkdir()
    (prom / "rules.yml").write_text(yaml.safe_dump(rules("v > 2")))
    (prom / "test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "tests": [{
        "interval": "1m",
        "input_series": [{"series": 'v{env="prod"}', "values": " ".join(map(str, COUNTS))}],
        "alert_rule_test": alert_tests(firing)}]}))
    proc = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=prom, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    logql = 'sum by (env) (count_over_time({app="basecamp-integration"}[1m])) > 2'
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules(logql)))
    lines = [{"at": f"{minute}m", "repeat": count, "every": "0s", "line": {"level": "ERROR"}}
             for minute, count in enumerate(COUNTS) if count]
    (tmp_path / "test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "tests": [{
        "input_streams": [{"labels": '{app="basecamp-integration", env="prod"}', "lines": lines}],
        "alert_rule_test": alert_tests(firing)}]}))
    assert run_files([tmp_path / "test.yml"]) == 0
