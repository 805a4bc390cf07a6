"""logpipe/loki/loki.yaml: retention by level, ruler wiring, and only documented keys."""
import re
from pathlib import Path
from typing import Any, Iterator

import yaml

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "logpipe" / "loki" / "loki.yaml").read_text()
LOKI: dict[str, Any] = yaml.safe_load(TEXT)

# Every key path loki.yaml may use, each checked against Loki's configuration reference
# (https://grafana.com/docs/loki/latest/configure/, generated from grafana/loki
# docs/sources/shared/configuration.md; blocks: top level, server, common, period_config,
# ruler, compactor, limits_config, analytics). List items are marked [].
DOCUMENTED = {
    "target", "auth_enabled",
    "server.http_listen_port", "server.grpc_listen_port", "server.log_level",
    "common.path_prefix", "common.instance_addr", "common.replication_factor", "common.ring.kvstore.store",
    "common.storage.filesystem.chunks_directory", "common.storage.filesystem.rules_directory",
    "schema_config.configs[].from", "schema_config.configs[].store", "schema_config.configs[].object_store",
    "schema_config.configs[].schema", "schema_config.configs[].index.prefix", "schema_config.configs[].index.period",
    "ruler.storage.type", "ruler.storage.local.directory", "ruler.rule_path", "ruler.evaluation_interval",
    "ruler.alertmanager_url", "ruler.enable_alertmanager_v2", "ruler.enable_api", "ruler.ring.kvstore.store",
    "ruler.wal.dir", "ruler.remote_write.enabled", "ruler.remote_write.clients.<id>.url",
    "compactor.working_directory", "compactor.compaction_interval", "compactor.retention_enabled",
    "compactor.retention_delete_delay", "compactor.delete_request_store",
    "limits_config.retention_period", "limits_config.retention_stream[].selector",
    "limits_config.retention_stream[].priority", "limits_config.retention_stream[].period",
    "analytics.reporting_enabled",
}
HOURS = {"INFO": 30 * 24, "WARNING": 60 * 24, "ERROR": 90 * 24}


def _paths(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            name = "<id>" if prefix.endswith("remote_write.clients") else key
            yield from _paths(value, f"{prefix}.{name}" if prefix else name)
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        for item in node:
            yield from _paths(item, prefix + "[]")
    else:
        yield prefix


def test_every_key_is_documented() -> None:
    assert set(_paths(LOKI)) - DOCUMENTED == set()


def test_single_binary_single_tenant_tsdb_v13_on_filesystem() -> None:
    assert LOKI["target"] == "all" and LOKI["auth_enabled"] is False
    (period,) = LOKI["schema_config"]["configs"]
    assert (period["store"], period["object_store"], period["schema"]) == ("tsdb", "filesystem", "v13")
    assert period["index"]["period"] == "24h"  # compactor retention needs it


def test_retention_by_level_as_the_spec_says() -> None:
    assert LOKI["compactor"]["retention_enabled"] is True
    assert LOKI["compactor"]["delete_request_store"] == "filesystem"
    streams = LOKI["limits_config"]["retention_stream"]
    by_level = {re.fullmatch(r'\{level="(\w+)"\}', s["selector"]).group(1): s for s in streams}
    assert {level: int(s["period"].removesuffix("h")) for level, s in by_level.items()} == HOURS
    assert len({s["priority"] for s in streams}) == len(streams)  # no ties
    assert LOKI["limits_config"]["retention_period"] == f"{max(HOURS.values())}h"


def test_ruler_reads_local_rules_and_talks_to_alertmanager_and_prometheus() -> None:
    ruler = LOKI["ruler"]
    assert ruler["storage"] == {"type": "local", "local": {"directory": "/etc/loki/rules"}}
    assert ruler["enable_api"] is True
    assert ruler["alertmanager_url"] == "${ALERTMANAGER_URL:-http://alertmanager:9093}"
    assert ruler["wal"]["dir"]
    remote = ruler["remote_write"]
    assert remote["enabled"] is True
    assert remote["clients"]["prometheus"]["url"] == "${PROMETHEUS_REMOTE_WRITE_URL:-http://prometheus:9090/api/v1/write}"


def test_env_references_have_defaults() -> None:
    """-config.expand-env=true replaces unset variables with "" unless a default is given."""
    references = re.findall(r"\$\{([^}]*)\}", TEXT)
    assert references and all(":-" in ref for ref in references)
