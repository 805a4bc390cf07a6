"""Load: 50 users connecting at once through the simulator, on gunicorn with the production settings."""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from benchmarks.app_bench import gunicorn_settings
from tests.app.conftest import CAPTURED, sim  # noqa: F401 (fixtures)
from tests.support.connect50 import TOKEN_FAULTS, Plan, check, inject_token_faults
from tests.support.stack import production_env, start_stack
from tests.support.users import connect_at_once, sign_up_many


def test_fifty_users_connect_at_once(tmp_path: Path, sim, reliability_report) -> None:
    sim.reset()  # no per-IP limit: the 50 simulated browsers share 127.0.0.1 with the app
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    with ExitStack() as stack:
        service = start_stack(stack, tmp_path, production_env(tmp_path, sim.url, database_url))
        users = sign_up_many(service.apps[0].url, 50)
        plan = Plan.fifty([None])
        inject_token_faults(sim)
        flows = connect_at_once(list(zip(users, plan.kwargs)))
        sim.harvest_secrets()
        records = service.check_logs(CAPTURED.secrets)
    observed, problems = check(plan, users, flows, database_url, sim, records)
    reliability_report.record(
        "Load", f"50 users connect at once (SQLite, {gunicorn_settings()}, production settings, pacing 50/10 s)",
        f"50 simultaneous flows: 42 own login, 2 logins approved by 2 users each, 4 deny, "
        f"{TOKEN_FAULTS} code exchanges answered invalid_grant",
        "each flow connected or its proper error type; one row per connected flow; tokens live; events match",
        observed, "none" if not problems else "; ".join(problems), not problems)
    assert not problems, problems
