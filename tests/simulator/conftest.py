"""A live simulator over real HTTP for each test: werkzeug threaded server on 127.0.0.1:0."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from app.simulator import create_simulator_app
from tests.support.log_capture import CAPTURED, simulator_secrets

UA = "SimulatorTests (tests@example.test)"
CLIENT = {"client_id": "sim-client-id", "client_secret": "sim-client-secret"}
REDIRECT = "http://127.0.0.1:9/callback"


@dataclass
class Sim:
    """A running simulator plus helpers that drive it like a client would."""

    url: str
    http: requests.Session

    def admin(self, method: str, path: str, json: object = None) -> requests.Response:
        response = self.http.request(method, f"{self.url}/_admin/{path}", json=json, timeout=5)
        assert response.status_code == 200, response.text
        return response

    def config(self, **settings: object) -> None:
        self.admin("POST", "config", settings)

    def faults(self, *rules: dict) -> None:
        self.admin("POST", "faults", list(rules))

    def counts(self) -> dict[str, dict[str, int]]:
        return self.admin("GET", "counts").json()

    def approve(self, email: str, state: str = "s1", redirect_uri: str = REDIRECT) -> str:
        """Post the Approve button; return the code from the redirect."""
        response = self.http.post(f"{self.url}/authorization/new", data={
            "client_id": CLIENT["client_id"], "redirect_uri": redirect_uri, "state": state,
            "email": email, "decision": "approve"}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["state"] == [state]
        return query["code"][0]

    def token(self, **params: str) -> requests.Response:
        return self.http.post(f"{self.url}/authorization/token", data={**CLIENT, **params}, timeout=5)

    def connect(self, email: str) -> dict:
        """Approve and exchange the code; return the token answer."""
        code = self.approve(email)
        response = self.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str, access_token: str | None = None, **kwargs: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        return self.http.get(f"{self.url}{path}", headers=headers, timeout=kwargs.pop("timeout", 5), **kwargs)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_simulator_app({"rate_limit_per_10s": 0}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}"
    harvester = partial(simulator_secrets, url)
    CAPTURED.watch(harvester)  # the log guard scans for the codes and tokens handed out here too
    yield url
    CAPTURED.unwatch(harvester)
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def sim(sim_server: str) -> Iterator[Sim]:
    """A freshly reset simulator and a session that sends a User-Agent."""
    with requests.Session() as http:
        http.headers["User-Agent"] = UA
        sim = Sim(sim_server, http)
        sim.admin("POST", "reset")
        yield sim
