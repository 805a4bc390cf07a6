"""Fifty users connecting at once: the plan (who approves, denies, or shares a Basecamp login),
and the check of every flow's ending against the database rows, the simulator and the events."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import create_engine, text

from app.crypto import TokenCipher
from app.simulator.state import fingerprint
from tests.app.conftest import FERNET_KEY, Simulator
from tests.support.users import Flow, User

TOKEN_FAULTS = 2  # injected invalid_grant answers to code exchanges
ALLOWED = {"fresh": {"connected", "token_exchange_failed"},
           "shared": {"connected", "account_already_connected", "token_exchange_failed"},
           "deny": {"authorization_failed"}}


@dataclass
class Plan:
    """50 flows: 42 approve with their own login, 2 pairs approve with one login each, 4 deny."""

    kinds: list[str]
    kwargs: list[dict]

    @classmethod
    def fifty(cls, callback_bases: list[str | None]) -> Plan:
        kinds = ["fresh"] * 42 + ["shared"] * 4 + ["deny"] * 4
        kwargs: list[dict] = []
        for index, kind in enumerate(kinds):
            args: dict = {"callback_base": callback_bases[index % len(callback_bases)]}
            if kind == "shared":
                args["identity"] = f"shared-{(index - 42) // 2}@example.test"
            if kind == "deny":
                args["decision"] = "deny"
            kwargs.append(args)
        return cls(kinds, kwargs)


def inject_token_faults(sim: Simulator) -> None:
    sim.faults({"endpoint": "token", "kind": "invalid_grant", "grant": "authorization_code", "count": TOKEN_FAULTS})


def check(plan: Plan, users: list[User], flows: list[Flow], database_url: str, sim: Simulator,
          records: list[dict]) -> tuple[str, list[str]]:
    """(what was observed, the problems found); no problem means nothing lost or duplicated."""
    wrong = Counter(f"{k} flow ended {f.outcome}" for f, k in zip(flows, plan.kinds) if f.outcome not in ALLOWED[k])
    problems = [f"{n} {what}" for what, n in wrong.items()]
    outcomes = Counter(f.outcome for f in flows)
    if outcomes["token_exchange_failed"] != TOKEN_FAULTS:
        problems.append(f"{outcomes['token_exchange_failed']} token_exchange_failed, {TOKEN_FAULTS} injected")
    shared = [f for f, k in zip(flows, plan.kinds) if k == "shared"]
    for pair in (shared[0:2], shared[2:4]):
        ends = sorted(f.outcome for f in pair)
        if "token_exchange_failed" not in ends and ends != ["account_already_connected", "connected"]:
            problems.append(f"one login approved twice ended {ends}")
    engine = create_engine(database_url)
    with engine.connect() as db:
        rows = db.execute(text("SELECT u.email, c.state, c.account_id, c.access_token_enc, c.refresh_token_enc "
                               "FROM basecamp_connections c JOIN users u ON u.id = c.user_id")).all()
    engine.dispose()
    connected = {u.email for u, f in zip(users, flows) if f.outcome == "connected"}
    stored = [r for r in rows if r.state == "connected"]
    if sorted(r.email for r in stored) != sorted(connected):
        problems.append(f"{len(stored)} connected rows for {len(connected)} connected flows (lost or duplicated)")
    if len({r.account_id for r in stored}) != len(stored):
        problems.append("one Basecamp account stored twice")
    state = sim.app.extensions["basecamp_simulator"]
    active = {t["sha256"] for t in sim.admin("GET", "tokens")["refresh_tokens"] if t["active"]}
    cipher = TokenCipher([FERNET_KEY])
    broken = [r.email for r in stored if state.authenticate(cipher.decrypt(r.access_token_enc)) is None
              or fingerprint(cipher.decrypt(r.refresh_token_enc)) not in active]
    if broken:
        problems.append(f"{len(broken)} stored token sets not live at Basecamp")
    events = Counter((r["event"], r["status"], r["error_type"]) for r in records)
    initiated = events[("basecamp_oauth_initiate", "success", None)]
    if initiated != len(flows):
        problems.append(f"{initiated} initiate events for {len(flows)} flows")
    logged = Counter({e[2] or "connected": n for e, n in events.items() if e[0] == "basecamp_oauth_connect"})
    if logged != outcomes:
        problems.append(f"connect events {dict(logged)} differ from the flows {dict(outcomes)}")
    slowest = max(f.seconds for f in flows)
    observed = (f"{', '.join(f'{n} {o}' for o, n in sorted(outcomes.items()))}; {len(stored)} rows, tokens live; "
                f"events match; slowest flow {slowest:.1f} s")
    return observed, problems
