"""logpipe/prometheus/prometheus.yml with Debian's promtool."""
import subprocess
from pathlib import Path

import yaml

from tests.pipeline.alertmanager_harness import require_tool

CONFIG = Path(__file__).resolve().parents[2] / "logpipe" / "prometheus" / "prometheus.yml"


def test_promtool_check_config() -> None:
    result = subprocess.run([require_tool("promtool"), "check", "config", str(CONFIG)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_scrapes_itself_and_points_at_alertmanager() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["prometheus"]["static_configs"][0]["targets"] == ["localhost:9090"]
    (manager,) = config["alerting"]["alertmanagers"]
    assert manager["static_configs"][0]["targets"] == ["alertmanager:9093"]
