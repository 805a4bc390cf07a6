"""The per-IP rate limit, and exact counts under concurrent clients."""
from __future__ import annotations

import threading
import time
from collections import Counter

import requests
from requests.adapters import HTTPAdapter

from .conftest import UA, Sim


class FromAddress(HTTPAdapter):
    """Connect from another loopback source address (Linux routes all of 127/8 to lo)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_per_ip_rate_limit(sim: Sim) -> None:
    sim.config(rate_limit_per_10s=3)
    statuses = [sim.get("/authorization.json") for _ in range(4)]
    assert [r.status_code for r in statuses] == [401, 401, 401, 429]
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 10
    assert sim.counts()["identity"] == {"401": 3, "429": 1}  # admin calls are never limited
    with requests.Session() as other:
        other.mount("http://", FromAddress("127.0.0.2"))
        other.headers["User-Agent"] = UA
        assert other.get(f"{sim.url}/authorization.json", timeout=5).status_code == 401
    assert sim.get("/authorization.json").status_code == 429


def test_rate_limit_window_slides(sim: Sim) -> None:
    sim.config(rate_limit_per_10s=2, rate_limit_window_s=0.5)
    assert [sim.get("/authorization.json").status_code for _ in range(3)] == [401, 401, 429]
    time.sleep(0.6)
    assert sim.get("/authorization.json").status_code == 401


def test_counts_exact_under_eight_threads(sim: Sim) -> None:
    tokens = [sim.connect(f"t{i}@example.test") for i in range(8)]
    sim.admin("POST", "faults", [{"endpoint": "identity", "kind": "rate_limit", "rate": 0.2},
                                 {"endpoint": "token", "kind": "server_error", "rate": 0.2}])
    seen: list[Counter[tuple[str, str]]] = [Counter() for _ in tokens]
    barrier = threading.Barrier(len(tokens))

    def client(i: int) -> None:
        with requests.Session() as http:
            http.headers["User-Agent"] = UA
            barrier.wait()
            for n in range(30):
                if n % 3 == 0:
                    r = http.post(f"{sim.url}/authorization/token", timeout=10, data={
                        "grant_type": "refresh_token", "refresh_token": tokens[i]["refresh_token"],
                        "client_id": "sim-client-id", "client_secret": "sim-client-secret"})
                    key = "refresh_token 200" if r.status_code == 200 else str(r.status_code)
                    seen[i]["token", key] += 1
                else:
                    r = http.get(f"{sim.url}/authorization.json", timeout=10,
                                 headers={"Authorization": f"Bearer {tokens[i]['access_token']}"})
                    seen[i]["identity", str(r.status_code)] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(seen, Counter())
    expected: dict[str, dict[str, int]] = {"token": {"authorization_code 200": len(tokens)}, "identity": {}}
    for (endpoint, key), n in total.items():
        expected[endpoint][key] = expected[endpoint].get(key, 0) + n
    counts = sim.counts()
    assert {k: counts[k] for k in ("token", "identity")} == expected
    assert counts["identity"].get("429", 0) > 0 and counts["token"].get("503", 0) > 0
    report = sim.admin("GET", "tokens").json()["refresh_tokens"]
    assert sum(e["refresh_grants"] for e in report) == total["token", "refresh_token 200"]
