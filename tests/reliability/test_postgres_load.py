"""Load and faults on PostgreSQL (Debian's server, a private cluster): two app processes behind
one redirect URI and two refresh loops at once over one database. 50 users connect at once
across both apps; both loops refresh while users disconnect: no connection refreshed twice, no
lost update; then the cluster restarts mid-traffic and the apps recover on their own."""
from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from app.crypto import TokenCipher
from app.simulator.state import fingerprint
from tests.app.conftest import CAPTURED, FERNET_KEY, sim  # noqa: F401 (fixtures)
from tests.support.connect50 import Plan, check, inject_token_faults
from tests.support.logscan import parse_events, secrets_found
from tests.support.postgres import PostgresCluster
from tests.support.seed import seed_connections
from tests.support.stack import Stack, production_env, simulator_requests_unlogged, start_stack
from tests.support.users import Flow, User, connect_at_once, sign_up

SEEDED, LIMIT, WINDOW_S = 300, 50, 1.0
DISCONNECTS = 10


@dataclass
class PgWorld:
    cluster: PostgresCluster
    stack: Stack
    database_url: str
    users: list[User] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sim) -> Iterator[PgWorld]:
    tmp = tmp_path_factory.mktemp("pg")
    sim.reset(token_lifetime_s=3600)  # connections made here fall due within the refresh margin (1 d)
    cluster = PostgresCluster()
    try:
        database_url = cluster.new_database()
        with ExitStack() as stack:
            service = start_stack(stack, tmp, production_env(tmp, sim.url, database_url), processes=2, workers=1)
            yield PgWorld(cluster, service, database_url)
            sim.harvest_secrets()
            service.check_logs(CAPTURED.secrets)
    finally:
        cluster.stop()


def test_fifty_connect_across_two_apps(world: PgWorld, sim, reliability_report) -> None:
    apps = [app.url for app in world.stack.apps]
    world.users = [sign_up(apps[i % 2]) for i in range(50)]
    plan = Plan.fifty([apps[1], apps[0]])  # each flow's callback lands on the other app process
    inject_token_faults(sim)
    world.flows = connect_at_once(list(zip(world.users, plan.kwargs)))
    sim.harvest_secrets()
    observed, problems = check(plan, world.users, world.flows, world.database_url, sim,
                               world.stack.check_logs(CAPTURED.secrets))
    reliability_report.record(
        "Load", "50 users connect at once on PostgreSQL across two app processes",
        "as on SQLite; each flow starts on one gunicorn process and its callback lands on the other",
        "each flow connected or its proper error type; one row per connected flow; tokens live; events match",
        observed, "none" if not problems else "; ".join(problems), not problems)
    assert not problems, problems


def _csrf(user: User) -> str:
    page = user.client.request("GET", "/integrations/basecamp/").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_two_refresh_loops_with_disconnects_racing(world: PgWorld, sim, reliability_report) -> None:
    connected = [u for u, f in zip(world.users, world.flows) if f.outcome == "connected"]
    assert len(connected) > DISCONNECTS, "the connect test left too few connected users"
    leaving = [(user, _csrf(user)) for user in connected[:DISCONNECTS]]
    state = sim.app.extensions["basecamp_simulator"]
    seed_connections(world.database_url, state, FERNET_KEY, SEEDED, dt.timedelta(hours=1))
    sim.admin("DELETE", "faults")
    # refreshed tokens live two weeks (no longer due); each refresh rotates the refresh token
    sim.admin("POST", "config", {"rotate_refresh_tokens": True, "rate_limit_per_10s": LIMIT,
                                 "rate_limit_window_s": WINDOW_S, "token_lifetime_s": 1209600})
    sim.faults({"endpoint": "token", "grant": "refresh_token", "kind": "latency", "latency_ms": 20, "rate": 1.0})
    before = sim.counts()["token"]
    # each loop gets half of the per-IP budget: pacing is per process
    with simulator_requests_unlogged():
        loops = [world.stack.cli("refresh-due", "--margin", "1d", BASECAMP_RATE_LIMIT=f"{LIMIT // 2}/{WINDOW_S:g}s")
                 for _ in range(2)]
        time.sleep(1.0)
        answers = [u.client.request("POST", "/integrations/basecamp/disconnect", data={"csrf_token": token})
                   for u, token in leaving]
        outputs = [loop.communicate(timeout=120) for loop in loops]
    sim.admin("POST", "config", {"rate_limit_per_10s": 0})
    after = sim.counts()["token"]
    records = [r for out, _err in outputs for r in parse_events(out)]
    sim.harvest_secrets()
    leaked = secrets_found([text for pair in outputs for text in pair], CAPTURED.secrets)

    refreshes = [r for r in records if r["event"] == "basecamp_token_refresh"]
    per_user = Counter(r["user_id"] for r in refreshes)
    engine = create_engine(world.database_url)
    with engine.connect() as db:
        rows = db.execute(text("SELECT user_id, state, access_token_enc, refresh_token_enc, version "
                               "FROM basecamp_connections")).all()
    engine.dispose()
    cipher = TokenCipher([FERNET_KEY])
    report = sim.admin("GET", "tokens")["refresh_tokens"]
    active = {t["sha256"] for t in report if t["active"]}
    live_rows = [r for r in rows if r.state == "connected"]
    lost = [r.user_id for r in live_rows if fingerprint(cipher.decrypt(r.refresh_token_enc)) not in active
            or state.authenticate(cipher.decrypt(r.access_token_enc)) is None]
    gone = [r for r in rows if r.state == "disconnected"]
    resurrected = [r.user_id for r in gone if r.access_token_enc or r.refresh_token_enc]
    double = [t for t in report if t["refresh_grants"] > 1 or t["rejected"]]
    grants = after.get("refresh_token 200", 0) - before.get("refresh_token 200", 0)
    own_429 = after.get("429", 0) - before.get("429", 0)
    problems = [p for p, bad in [
        (f"loop exit codes {[loop.returncode for loop in loops]}", any(loop.returncode for loop in loops)),
        (f"disconnect answers {[a.status_code for a in answers]}", any(a.status_code != 302 for a in answers)),
        (f"{len(double)} refresh tokens granted twice or replayed", double),
        (f"{sum(n > 1 for n in per_user.values())} connections refreshed more than once", max(per_user.values()) > 1),
        (f"{len(lost)} connected rows holding a dead token (lost update)", lost),
        (f"{len(resurrected)} disconnected rows with tokens written back", resurrected),
        (f"{len(gone)} disconnected rows for {DISCONNECTS} disconnects", len(gone) != DISCONNECTS),
        (f"{grants} grants for {len(refreshes)} logged refreshes", grants != sum(r["status"] == "success"
                                                                                for r in refreshes)),
        (f"{own_429} answers 429", own_429),
        (f"{leaked} secrets in the loops' output", leaked),
    ] if bad]
    summaries = [err.strip().splitlines()[-1] for _out, err in outputs]
    reliability_report.record(
        "Load", "refresh-due on PostgreSQL: two loops at once, disconnects racing",
        f"{SEEDED} seeded + {len(connected)} connected users; 2 `refresh-due` processes at {LIMIT // 2}/{WINDOW_S:g}s "
        f"each (simulator {LIMIT}/{WINDOW_S:g}s per IP, rotating refresh tokens); {DISCONNECTS} users disconnect "
        "meanwhile through both apps",
        "each connection refreshed at most once, by one loop; no token granted twice; connected rows hold the newest "
        "tokens; disconnected rows stay empty; 0 answers 429",
        f"{len(refreshes)} refreshes ({'; '.join(summaries)}); max per connection {max(per_user.values())}; "
        f"{grants} grants, {len(double)} double; {len(live_rows)} connected rows all live: {not lost}; "
        f"{len(gone)} disconnected, {len(resurrected)} rewritten; {own_429} answers 429",
        "none" if not problems else "; ".join(problems), not problems)
    assert not problems, problems


def test_postgres_restart_mid_traffic(world: PgWorld, reliability_report) -> None:
    users = [u for u, f in zip(world.users, world.flows) if f.outcome == "connected"][DISCONNECTS:DISCONNECTS + 6]
    engine = create_engine(world.database_url)
    with engine.connect() as db:
        before = db.execute(text("SELECT user_id, state, access_token_enc, version FROM basecamp_connections "
                                 "ORDER BY user_id")).all()
    engine.dispose()
    results: list[tuple[float, int, float]] = []  # (sent at, HTTP status or 0, seconds)
    stop = threading.Event()

    def traffic(user: User) -> None:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                code = user.client.request("GET", "/api/integrations/basecamp/status/").status_code
            except OSError:
                code = 0
            results.append((sent, code, time.monotonic() - sent))
            time.sleep(0.02)

    threads = [threading.Thread(target=traffic, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    time.sleep(2)
    down = time.monotonic()
    world.cluster.restart()
    up = time.monotonic()
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join()
    engine = create_engine(world.database_url)
    with engine.connect() as db:
        after_rows = db.execute(text("SELECT user_id, state, access_token_enc, version FROM basecamp_connections "
                                     "ORDER BY user_id")).all()
    engine.dispose()
    failed = [r for r in results if r[1] != 200]
    late = [r for r in failed if r[0] > up + 1.0]
    codes = Counter(r[1] for r in failed)
    slowest = max(r[2] for r in results)
    intact = [tuple(r) for r in before] == [tuple(r) for r in after_rows]
    passed = not late and slowest < 5 and intact and len(results) > 100
    reliability_report.record(
        "Faults", "PostgreSQL restarted mid-traffic (pg_ctl restart -m fast)",
        f"status requests from {len(users)} users on both apps; restart took {up - down:.1f} s",
        "requests during the outage fail fast with a 5xx; apps reconnect by themselves (pool pre-ping) within 1 s "
        "of the restart; no row changed",
        f"{len(results)} requests: {len(results) - len(failed)} HTTP 200, {len(failed)} failed "
        f"{dict(codes) if codes else ''}, {len(late)} failed later than 1 s after the restart; slowest {slowest:.2f} s",
        "none: every connection row identical" if intact else "rows changed", passed)
    assert passed, (codes, late[:5], slowest, intact)
