"""Every query of the monitoring content passes our parser and Grafana's lezer-logql."""
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = [ROOT / "logpipe/rules/basecamp-recording.yaml", ROOT / "alerts/basecamp-alerts.yaml"]
DASHBOARDS = sorted((ROOT / "grafana/dashboards").glob("*.json"))


def _minimum_expressions() -> tuple[int, int]:
    """Rule exprs plus dashboard panel targets: the lint must have checked at least these."""
    rules = sum(len(g["rules"]) for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"])
    targets = sum(len(p.get("targets", [])) for d in DASHBOARDS
                  for p in json.loads(d.read_text())["panels"])
    return rules + targets, len(RULE_FILES) + len(DASHBOARDS)


def test_lint_passes_on_rules_dashboards_and_definitions() -> None:
    paths = ["logpipe/monitoring", "logpipe/rules", "alerts", "grafana/dashboards"]
    result = subprocess.run([sys.executable, "-m", "logpipe", "lint", *paths], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"lint: (\d+) LogQL expressions in (\d+) files", result.stdout)
    assert found, result.stdout
    min_exprs, min_files = _minimum_expressions()
    assert int(found.group(1)) >= min_exprs and int(found.group(2)) >= min_files, result.stdout
