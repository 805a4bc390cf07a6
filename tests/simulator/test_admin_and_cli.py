"""Admin settings and reset, loopback-only admin, environment overrides, the CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from app.simulator import create_simulator_app

from .conftest import UA, Sim

ROOT = Path(__file__).resolve().parents[2]


def test_config_round_trip_and_reset_restores_start_up_settings(sim: Sim) -> None:
    changed = sim.admin("POST", "config", {"accounts_per_identity": 2, "rotate_refresh_tokens": True}).json()
    assert changed["accounts_per_identity"] == 2 and changed["rotate_refresh_tokens"] is True
    assert sim.admin("GET", "config").json() == changed
    sim.connect("before@example.test")
    after = sim.admin("POST", "reset").json()
    assert after["settings"]["accounts_per_identity"] == 1
    assert after["settings"]["rotate_refresh_tokens"] is False
    assert after["settings"]["rate_limit_per_10s"] == 0  # the fixture's start-up setting
    assert sim.counts() == {"token": {}, "identity": {}, "api": {}, "authorize": {}}
    assert sim.admin("GET", "tokens").json() == {"refresh_tokens": []}


@pytest.mark.parametrize("body, message", [
    ({"accounts_per_identity": -1}, "accounts_per_identity must be >= 0"),
    ({"token_lifetime_s": "long"}, "token_lifetime_s must be an integer"),
    ({"rotate_refresh_tokens": 1}, "rotate_refresh_tokens must be true or false"),
    ({"invalid_grant_error": "nope"}, "invalid_grant_error must be one of"),
    ({"colour": "red"}, "unknown setting 'colour'"),
    ([1, 2], "settings must be a JSON object"),
])
def test_bad_settings_are_rejected(sim: Sim, body: object, message: str) -> None:
    response = sim.http.post(f"{sim.url}/_admin/config", json=body, timeout=5)
    assert response.status_code == 400 and message in response.json()["error_description"]


def test_non_json_admin_body_is_rejected(sim: Sim) -> None:
    response = sim.http.post(f"{sim.url}/_admin/faults", data="not json", timeout=5)
    assert response.status_code == 400 and response.json()["error_description"] == "the request body must be JSON"


def test_admin_refuses_non_loopback_clients() -> None:
    # A non-loopback peer cannot be produced over real HTTP here, so use the test client.
    client = create_simulator_app().test_client()
    remote = client.get("/_admin/counts", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403 and remote.get_json()["error"] == "forbidden"
    assert client.get("/_admin/counts", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_environment_overrides_and_config_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMULATOR_CLIENT_ID", "env-id")
    monkeypatch.setenv("SIMULATOR_ROTATE_REFRESH_TOKENS", "true")
    monkeypatch.setenv("SIMULATOR_ACCOUNTS_PER_IDENTITY", "3")
    monkeypatch.setenv("SIMULATOR_FAULTS", '[{"endpoint": "api", "kind": "latency", "count": 1}]')
    app = create_simulator_app({"accounts_per_identity": 2})
    settings = app.extensions["basecamp_simulator"].settings()
    assert (settings["client_id"], settings["rotate_refresh_tokens"], settings["accounts_per_identity"]) \
        == ("env-id", True, 2)
    assert app.extensions["basecamp_simulator"].faults()[0]["latency_ms"] == 300
    monkeypatch.setenv("SIMULATOR_TOKEN_LIFETIME_S", "soon")
    with pytest.raises(ValueError, match="SIMULATOR_TOKEN_LIFETIME_S must be a number"):
        create_simulator_app()


def test_bad_start_up_config_raises() -> None:
    with pytest.raises(ValueError, match="unknown setting"):
        create_simulator_app({"nonsense": 1})
    with pytest.raises(ValueError, match="kind must be one of"):
        create_simulator_app({"faults": [{"endpoint": "api", "kind": "boom", "count": 1}]})


def test_cli_prints_url_and_serves() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "app.simulator", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("Basecamp simulator running on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        page = requests.get(f"{url}/authorization/new", headers={"User-Agent": UA}, timeout=5,
                            params={"response_type": "code", "client_id": "sim-client-id",
                                    "redirect_uri": "http://127.0.0.1:9/cb"})
        assert page.status_code == 200 and "Approve" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
