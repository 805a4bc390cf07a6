"""Deployment constants of the monitoring content, each written once."""
from pathlib import Path

#: Where `runbook_url` annotations point; each alert appends `#<lowercased alertname>`.
RUNBOOK_URL = "https://github.com/basecamp-integration/basecamp-integration/blob/main/alerts/runbook.md"

#: The `app` stream label our Vector remap program sets on every FR-016 line.
APP = "basecamp-integration"

#: Grafana datasource UID of Loki (grafana/provisioning); every panel queries it.
LOKI_UID = "loki"

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDING_FILE = REPO_ROOT / "logpipe" / "rules" / "basecamp-recording.yaml"
ALERTS_FILE = REPO_ROOT / "alerts" / "basecamp-alerts.yaml"
RUNBOOK_FILE = REPO_ROOT / "alerts" / "runbook.md"
DASHBOARD_DIR = REPO_ROOT / "grafana" / "dashboards"
RULE_TEST_DIR = REPO_ROOT / "logpipe" / "rules" / "tests"
