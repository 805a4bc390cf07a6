"""Every query of the monitoring content passes our parser and Grafana's lezer-logql."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_lint_passes_on_rules_dashboards_and_definitions() -> None:
    paths = ["logpipe/monitoring", "logpipe/rules", "alerts", "grafana/dashboards"]
    result = subprocess.run([sys.executable, "-m", "logpipe", "lint", *paths], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"lint: (\d+) LogQL expressions in (\d+) files", result.stdout)
    assert found and int(found.group(1)) > 100 and int(found.group(2)) >= 6, result.stdout
