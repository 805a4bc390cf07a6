"""docker-compose.yml, checked without a Docker engine: mounts, ports, hostnames, pins, health."""
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import parse_rate

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
EXPECTED_SERVICES = {
    "app", "refresher", "simulator", "postgres", "vector", "loki", "prometheus", "alertmanager", "grafana",
}
# Configs whose URLs and scrape targets name compose services.
CONFIGS = [
    "docker-compose.yml", "logpipe/vector/vector.yaml", "logpipe/loki/loki.yaml",
    "logpipe/prometheus/prometheus.yml", "grafana/provisioning/datasources/datasources.yaml",
]
# Files the stack needs that other work provides (the test fails until they are in the repo).
APP_FILES = ["requirements.txt", "wsgi.py", "gunicorn.conf.py", "app/simulator"]
_LOCAL = {"localhost", "127.0.0.1", "0.0.0.0"}


def _bind_mounts() -> list[tuple[str, str, str]]:
    """(service, host path, container path) of every bind mount."""
    mounts = []
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                mounts.append((name, source, target))
    return mounts


def test_all_services_are_there() -> None:
    assert set(SERVICES) == EXPECTED_SERVICES
    assert SERVICES["simulator"]["profiles"] == ["demo"]


def test_every_bind_mounted_path_exists_in_the_repo() -> None:
    missing = [f"{service}: {source}" for service, source, _ in _bind_mounts() if not (REPO / source).exists()]
    assert not missing, f"bind-mounted but not in the repo yet: {missing}"


def test_files_the_app_image_needs_exist() -> None:
    missing = [path for path in APP_FILES if not any((REPO / candidate).exists() for candidate in (path, f"{path}.py"))]
    assert not missing, f"not in the repo yet: {missing}"


def test_loki_mounts_both_rule_files_for_tenant_fake() -> None:
    targets = {source: target for service, source, target in _bind_mounts() if service == "loki"}
    assert targets["./logpipe/rules/basecamp-recording.yaml"] == "/etc/loki/rules/fake/basecamp-recording.yaml"
    assert targets["./alerts/basecamp-alerts.yaml"] == "/etc/loki/rules/fake/basecamp-alerts.yaml"
    loki = yaml.safe_load((REPO / "logpipe/loki/loki.yaml").read_text())
    assert loki["ruler"]["storage"]["local"]["directory"] == "/etc/loki/rules"


def test_vector_gets_its_config_the_vrl_and_the_event_log() -> None:
    vector = SERVICES["vector"]
    targets = {target for service, _, target in _bind_mounts() if service == "vector"}
    assert {"/etc/vector/vector.yaml", "/etc/vector/fr016.vrl"} <= targets
    assert "app-logs:/var/log/app:ro" in vector["volumes"]
    assert vector["environment"]["VECTOR_DANGEROUSLY_ALLOW_ENV_VAR_INTERPOLATION"] == "true"
    assert vector["environment"]["EVENT_LOG"] == SERVICES["app"]["environment"]["EVENT_LOG"]
    assert "app-logs:/var/log/app" in SERVICES["app"]["volumes"]
    assert "app-logs:/var/log/app" in SERVICES["refresher"]["volumes"]


def test_vector_version_accepts_plain_loki_label_templates() -> None:
    version = re.search(r":(\d+)\.(\d+)\.", SERVICES["vector"]["image"])
    assert version and (int(version.group(1)), int(version.group(2))) >= (0, 58)


def test_commands_enable_what_the_configs_rely_on() -> None:
    assert "-config.expand-env=true" in SERVICES["loki"]["command"]
    assert "--web.enable-remote-write-receiver" in SERVICES["prometheus"]["command"]
    assert SERVICES["refresher"]["command"] == ["flask", "--app", "wsgi", "basecamp", "refresh-due", "--every", "5m"]
    assert SERVICES["simulator"]["command"] == ["python", "-m", "app.simulator", "--host", "0.0.0.0", "--port", "5001"]


def test_host_ports_do_not_clash() -> None:
    published = [port.rsplit(":", 1)[0] for service in SERVICES.values() for port in service.get("ports", [])]
    assert len(published) == len(set(published)), published


def test_every_hostname_the_configs_name_is_a_service() -> None:
    hosts: set[str] = set()
    for config in CONFIGS:
        text = (REPO / config).read_text()
        hosts |= set(re.findall(r"(?:https?://|@)([A-Za-z][\w-]*)(?=[:/\"'\s])", text))
        hosts |= set(re.findall(r"[\"'\[ ]([a-z][\w-]*):\d{2,5}[\"'\]]", text))
    unknown = hosts - set(SERVICES) - _LOCAL
    assert not unknown, f"configs point at hosts that are not compose services: {unknown}"
    assert {"loki", "prometheus", "alertmanager", "postgres"} <= hosts


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES))
def test_image_is_pinned(name: str) -> None:
    service = SERVICES[name]
    image = service["image"]
    repository, _, tag = image.rpartition(":")
    assert repository and tag and tag != "latest", image
    if "build" not in service:
        assert re.match(r"v?\d+\.\d+(\.\d+)?(-\w+)?$", tag), f"{name}: {image} is not pinned to a version"


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES))
def test_service_has_a_healthcheck(name: str) -> None:
    assert SERVICES[name]["healthcheck"]["test"]


def test_named_volumes_are_declared() -> None:
    named = {
        volume.split(":")[0] for service in SERVICES.values() for volume in service.get("volumes", [])
        if not volume.startswith(".")
    }
    assert named and named <= set(COMPOSE["volumes"])


def test_secrets_come_from_the_environment_and_are_required() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for secret in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "BASECAMP_CLIENT_ID", "BASECAMP_CLIENT_SECRET",
                   "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert re.search(rf"\$\{{{secret}:\?[^}}]+\}}", text), secret


def test_alertmanager_secret_files_have_placeholders() -> None:
    config = yaml.safe_load((REPO / "alerts/alertmanager.yml").read_text())
    secret_files = {
        options[key]
        for receiver in config["receivers"]
        for options in receiver.get("pagerduty_configs", []) + receiver.get("slack_configs", [])
        for key in ("routing_key_file", "api_url_file") if key in options
    }
    assert secret_files
    assert all((REPO / "alerts" / f"{path}.example").is_file() for path in secret_files)
    targets = {source: target for service, source, target in _bind_mounts() if service == "alertmanager"}
    assert targets["./alerts/secrets"] == "/etc/alertmanager/secrets"
    assert targets["./alerts/alertmanager.yml"] == "/etc/alertmanager/alertmanager.yml"


def test_dockerfile_builds_the_app_image() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert "pip install -r requirements.txt" in dockerfile
    assert "flask --app wsgi basecamp migrate && exec gunicorn --bind 0.0.0.0:8000" in dockerfile
    assert "alerts/secrets/*" in (REPO / ".dockerignore").read_text()
    assert all("8000" in port for port in SERVICES["app"]["ports"])


def test_processes_calling_basecamp_share_its_rate_limit() -> None:
    """Basecamp allows about 50 requests per 10 s per IP; BASECAMP_RATE_LIMIT paces one process, so
    the app's workers and the refresher together must stay within it (per second, as rates)."""
    budget_count, budget_window = parse_rate("Basecamp", "50/10s")
    callers = {"app": int(SERVICES["app"]["environment"]["GUNICORN_WORKERS"]), "refresher": 1}
    total = 0.0
    for name, processes in callers.items():
        count, window = parse_rate(name, SERVICES[name]["environment"]["BASECAMP_RATE_LIMIT"])
        assert count > 0, f"{name}: pacing off"
        total += processes * count / window
    assert total <= budget_count / budget_window
