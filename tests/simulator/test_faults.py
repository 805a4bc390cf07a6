"""Fault injection: each kind, count order, seeded rates, rule validation."""
from __future__ import annotations

import time

import pytest
import requests

from .conftest import Sim


def refresh_token_for(sim: Sim, email: str) -> str:
    return sim.connect(email)["refresh_token"]


def test_rate_limit_fault_then_recovery(sim: Sim) -> None:
    refresh = refresh_token_for(sim, "rl@example.test")
    sim.faults({"endpoint": "token", "kind": "rate_limit", "count": 2, "retry_after": 7})
    answers = [sim.token(grant_type="refresh_token", refresh_token=refresh) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7"
    assert sim.counts()["token"] == {"authorization_code 200": 1, "429": 2, "refresh_token 200": 1}
    rule = sim.admin("GET", "faults").json()[0]
    assert (rule["fired"], rule["remaining"]) == (2, 0)


def test_server_error_fault_json_and_html(sim: Sim) -> None:
    sim.faults({"endpoint": "identity", "kind": "server_error", "count": 1, "status": 502},
               {"endpoint": "authorize", "kind": "server_error", "count": 1})
    identity = sim.get("/authorization.json", "whatever")
    assert identity.status_code == 502 and identity.json()["error"] == "server_error"
    page = sim.get("/authorization/new")
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
    assert sim.counts()["identity"] == {"502": 1} and sim.counts()["authorize"] == {"503": 1}


def test_count_rules_are_consumed_in_order(sim: Sim) -> None:
    sim.faults({"endpoint": "*", "kind": "server_error", "count": 1, "status": 500},
               {"endpoint": "identity", "kind": "rate_limit", "count": 1})
    statuses = [sim.get("/authorization.json").status_code for _ in range(3)]
    assert statuses == [500, 429, 401]


def test_latency_adds_delay_and_stacks(sim: Sim) -> None:
    tokens = sim.connect("slow@example.test")
    sim.faults({"endpoint": "identity", "kind": "latency", "count": 1, "latency_ms": 150},
               {"endpoint": "*", "kind": "latency", "count": 1, "latency_ms": 150})
    started = time.monotonic()
    response = sim.get("/authorization.json", tokens["access_token"])
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed >= 0.3
    started = time.monotonic()
    assert sim.get("/authorization.json", tokens["access_token"]).status_code == 200
    assert time.monotonic() - started < 0.3
    assert sim.counts()["identity"] == {"200": 2}


def test_invalid_grant_fault_filtered_by_grant(sim: Sim) -> None:
    sim.faults({"endpoint": "token", "kind": "invalid_grant", "count": 1, "grant": "refresh_token"})
    refresh = refresh_token_for(sim, "ig@example.test")  # the code exchange is not affected
    refused = sim.token(grant_type="refresh_token", refresh_token=refresh)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert sim.token(grant_type="refresh_token", refresh_token=refresh).status_code == 200
    assert sim.counts()["token"] == {"authorization_code 200": 1, "refresh_token 400 invalid_grant": 1,
                                     "refresh_token 200": 1}


def test_malformed_json_fault(sim: Sim) -> None:
    sim.faults({"endpoint": "*", "kind": "malformed_json", "count": 2})
    page = sim.get("/authorization/new", params={"response_type": "code"})  # HTML: not eligible
    assert page.status_code == 400
    for path in ("/authorization.json", "/1000001/projects.json"):
        response = sim.get(path)
        assert response.status_code == 200
        with pytest.raises(requests.JSONDecodeError):
            response.json()
    assert sim.counts()["identity"] == {"malformed_json": 1} and sim.counts()["api"] == {"malformed_json": 1}


def test_connection_reset_fault(sim: Sim) -> None:
    sim.faults({"endpoint": "token", "kind": "connection_reset", "count": 1})
    with pytest.raises(requests.ConnectionError):
        sim.token(grant_type="refresh_token", refresh_token="x")
    after = sim.token(grant_type="refresh_token", refresh_token="x")
    assert after.status_code == 400
    assert sim.counts()["token"] == {"connection_reset": 1, "refresh_token 400 invalid_grant": 1}


def test_timeout_fault(sim: Sim) -> None:
    sim.faults({"endpoint": "api", "kind": "timeout", "count": 1, "latency_ms": 600})
    with pytest.raises(requests.Timeout):
        sim.get("/1000001/projects.json", timeout=0.2)
    assert sim.counts()["api"] == {"timeout": 1}
    assert sim.get("/1000001/projects.json").status_code == 401


def statuses_with_seed(sim: Sim, seed: int) -> list[int]:
    sim.admin("POST", "reset", {"seed": seed})
    sim.faults({"endpoint": "identity", "kind": "rate_limit", "rate": 0.3},
               {"endpoint": "identity", "kind": "server_error", "rate": 0.3})
    return [sim.get("/authorization.json").status_code for _ in range(30)]


def test_seeded_rate_faults_repeat_across_resets(sim: Sim) -> None:
    first = statuses_with_seed(sim, 7)
    second = statuses_with_seed(sim, 7)
    other = statuses_with_seed(sim, 8)
    assert first == second
    assert {429, 503, 401} <= set(first)
    assert other != first
    observed = {str(s): other.count(s) for s in set(other)}
    assert sim.counts()["identity"] == observed


def test_fault_rules_listed_and_cleared(sim: Sim) -> None:
    sim.faults({"endpoint": "api", "kind": "server_error", "rate": 0.25, "status": 504})
    assert sim.admin("GET", "faults").json() == [
        {"endpoint": "api", "kind": "server_error", "rate": 0.25, "status": 504, "fired": 0}]
    assert sim.admin("DELETE", "faults").json() == []


@pytest.mark.parametrize("rule, message", [
    ({"endpoint": "token", "kind": "explode", "count": 1}, "kind must be one of"),
    ({"endpoint": "nowhere", "kind": "latency", "count": 1}, "endpoint must be one of"),
    ({"endpoint": "token", "kind": "latency"}, "exactly one of count"),
    ({"endpoint": "token", "kind": "latency", "count": 1, "rate": 0.5}, "exactly one of count"),
    ({"endpoint": "token", "kind": "latency", "count": 0}, "count must be a positive integer"),
    ({"endpoint": "token", "kind": "latency", "rate": 1.5}, "rate must be a number between 0 and 1"),
    ({"endpoint": "api", "kind": "invalid_grant", "count": 1}, "token endpoint only"),
    ({"endpoint": "api", "kind": "latency", "count": 1, "grant": "refresh_token"}, "grant must be"),
    ({"endpoint": "token", "kind": "server_error", "count": 1, "status": 404}, "status must be"),
    ({"endpoint": "token", "kind": "latency", "count": 1, "colour": "red"}, "unknown fault field"),
])
def test_bad_fault_rules_are_rejected(sim: Sim, rule: dict, message: str) -> None:
    response = sim.http.post(f"{sim.url}/_admin/faults", json=[rule], timeout=5)
    assert response.status_code == 400 and message in response.json()["error_description"]
    assert sim.admin("GET", "faults").json() == []
