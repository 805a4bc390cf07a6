"""grafana/provisioning: datasources with fixed UIDs, and the dashboards provider."""
from pathlib import Path

import yaml

PROVISIONING = Path(__file__).resolve().parents[2] / "grafana" / "provisioning"


def test_datasources_have_fixed_uids_and_urls() -> None:
    config = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yaml").read_text())
    assert config["apiVersion"] == 1
    sources = {source["uid"]: source for source in config["datasources"]}
    assert {uid: (s["type"], s["url"]) for uid, s in sources.items()} == {
        "loki": ("loki", "http://loki:3100"),
        "prometheus": ("prometheus", "http://prometheus:9090"),
        "alertmanager": ("alertmanager", "http://alertmanager:9093"),
    }
    assert sources["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert [s["uid"] for s in config["datasources"] if s.get("isDefault")] == ["loki"]


def test_dashboards_provider_reads_the_mounted_directory() -> None:
    config = yaml.safe_load((PROVISIONING / "dashboards" / "dashboards.yaml").read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
