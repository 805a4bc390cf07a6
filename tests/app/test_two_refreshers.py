"""Two `flask basecamp refresh-due` processes at once over one database: each connection refreshed exactly once."""
from __future__ import annotations

import subprocess
import sys

from tests.app.conftest import ROOT, record_process_output

CONNECTIONS = 6


def test_two_refreshers_never_double_grant(server, sim, new_browser, events):
    sim.reset(token_lifetime_s=60)  # the connects' tokens expire within the margin below
    for _ in range(CONNECTIONS):
        assert new_browser().connect().status_code == 200
    # refreshed tokens live two weeks (no longer due), and every refresh grant is slow
    sim.admin("POST", "config", {"token_lifetime_s": 1209600})
    sim.faults({"endpoint": "token", "kind": "latency", "latency_ms": 250, "rate": 1.0, "grant": "refresh_token"})
    command = [sys.executable, "-m", "flask", "basecamp", "refresh-due", "--margin", "1h"]
    procs = [subprocess.Popen(command, cwd=ROOT, env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    records = [r for out, err in outputs for r in record_process_output(out, err)]

    report = sim.admin("GET", "tokens")["refresh_tokens"]
    originals = [t for t in report if t["via"] == "authorization_code"]
    assert len(originals) == CONNECTIONS
    assert [t["refresh_grants"] for t in originals] == [1] * CONNECTIONS  # no token got two grants
    assert sim.counts()["token"]["refresh_token 200"] == CONNECTIONS

    refreshes = [r for r in records if r["event"] == "basecamp_token_refresh"]
    assert len(refreshes) == CONNECTIONS and all(r["status"] == "success" for r in refreshes)
    assert len({r["user_id"] for r in refreshes}) == CONNECTIONS  # every connection exactly once
    summaries = [err.strip().splitlines()[-1] for _out, err in outputs]
    refreshed = [int(s.split("refreshed=")[1].split(",")[0]) for s in summaries]
    assert sum(refreshed) == CONNECTIONS, summaries
    health = [r for r in records if r["event"] == "basecamp_account_health"]
    assert len(health) == 2 and health[-1]["metadata"]["connected_accounts"] == CONNECTIONS
