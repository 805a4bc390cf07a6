"""authorization.json and projects.json: accounts per identity, auth and ownership."""
from __future__ import annotations

import pytest
import requests
from urllib3.util import SKIP_HEADER

from .conftest import Sim

# urllib3 adds its own User-Agent unless told to skip the header
NO_USER_AGENT = {"User-Agent": SKIP_HEADER}


@pytest.mark.parametrize("accounts", [0, 1, 3])
def test_accounts_per_identity(sim: Sim, accounts: int) -> None:
    sim.config(accounts_per_identity=accounts)
    tokens = sim.connect(f"acct{accounts}@example.test")
    listed = sim.get("/authorization.json", tokens["access_token"]).json()["accounts"]
    assert [a["product"] for a in listed].count("bc3") == accounts
    assert [a["product"] for a in listed if a["product"] != "bc3"] == ["campfire"]
    assert len({a["id"] for a in listed}) == len(listed)


def test_same_email_is_same_identity_and_accounts(sim: Sim) -> None:
    first = sim.connect("same@example.test")
    second = sim.connect("SAME@example.test")
    one = sim.get("/authorization.json", first["access_token"]).json()
    two = sim.get("/authorization.json", second["access_token"]).json()
    assert one["identity"] == two["identity"] and one["accounts"] == two["accounts"]


def test_api_requires_a_live_bearer_token(sim: Sim) -> None:
    tokens = sim.connect("api@example.test")
    account = sim.get("/authorization.json", tokens["access_token"]).json()["accounts"][0]["id"]
    assert sim.get(f"/{account}/projects.json").status_code == 401
    assert sim.get(f"/{account}/projects.json", "not-a-token").status_code == 401
    assert sim.get("/authorization.json").status_code == 401
    assert sim.counts()["api"] == {"401": 2} and sim.counts()["identity"] == {"200": 1, "401": 1}


def test_projects_of_someone_elses_account_are_404(sim: Sim) -> None:
    mine = sim.connect("mine@example.test")
    theirs = sim.connect("theirs@example.test")
    their_account = sim.get("/authorization.json", theirs["access_token"]).json()["accounts"][0]["id"]
    response = sim.get(f"/{their_account}/projects.json", mine["access_token"])
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert sim.get("/424242/projects.json", mine["access_token"]).status_code == 404


def test_user_agent_is_required_everywhere(sim: Sim) -> None:
    paths = [("GET", "/authorization/new"), ("POST", "/authorization/token"),
             ("GET", "/authorization.json"), ("GET", "/1000001/projects.json")]
    for method, path in paths:
        response = requests.request(method, f"{sim.url}{path}", headers=NO_USER_AGENT, timeout=5)
        assert response.status_code == 400, path
        assert "User-Agent" in response.text
    assert sim.counts() == {name: {"400 missing_user_agent": 1}
                            for name in ("authorize", "token", "identity", "api")}
    page = requests.get(f"{sim.url}/authorization/new", headers=NO_USER_AGENT, timeout=5)
    assert page.headers["Content-Type"].startswith("text/html")


def test_unknown_paths_get_clean_errors(sim: Sim) -> None:
    html = sim.get("/nowhere")
    assert html.status_code == 404 and html.headers["Content-Type"].startswith("text/html")
    json_404 = sim.get("/x/projects.json")
    assert json_404.status_code == 404 and json_404.json()["error"] == "not_found"
    wrong_method = sim.get("/authorization/token")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"
