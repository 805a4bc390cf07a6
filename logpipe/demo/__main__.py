"""`python -m logpipe.demo [--minutes 3] [--seed 7] [--out var/report]`.

Rounds of people (sign up, connect or not, status, projects, the odd replay, expiry and
disconnect) each followed by a refresh pass, until the time is up. A fault storm (429,
invalid_grant, 5xx) runs through the middle third, so the charts show it arrive and stay in
the 1-hour windows. Then the report is printed and the dashboards are drawn.
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from logpipe.demo.charts import Window, render
from logpipe.e2e.run import FAST_APP_SETTINGS
from logpipe.e2e.scenarios import Behaviours, FaultRates, Scenario
from logpipe.e2e.servers import REPO, Services
from logpipe.e2e.traffic import FLOW_TTL_S, Generator
from logpipe.logql import LogStore
from logpipe.monitoring.config import DASHBOARD_DIR

BACKGROUND = FaultRates(rate_limit=0.05, server_error=0.02, invalid_grant=0.01, latency=0.2, latency_ms=120)
STORM = FaultRates(rate_limit=0.6, server_error=0.3, invalid_grant=0.2)
PEOPLE_PER_ROUND = 4


def _round(rng: random.Random) -> Behaviours:
    """Four people: mostly happy, sometimes one abandons, denies, expires, duplicates, replays, leaves."""
    odd = {kind: int(rng.random() < 0.25) for kind in ("abandon", "deny", "expire", "duplicate")}
    if sum(odd.values()) > 2:
        odd["expire"] = odd["duplicate"] = 0
    return Behaviours(users=PEOPLE_PER_ROUND, **odd, replay=int(rng.random() < 0.2),
                      disconnect=int(rng.random() < 0.2), returning=1, refresh_passes=1)


def _set_faults(services: Services, *rates: FaultRates) -> None:
    services.admin("DELETE", "/_admin/faults")
    rules = [rule for r in rates for rule in r.rules()]
    if rules:
        services.admin("POST", "/_admin/faults", rules)


def drive(services: Services, seed: int, seconds: float) -> int:
    """Traffic rounds until `seconds` have passed; the number of rounds."""
    scenario = Scenario("demo", Behaviours(users=PEOPLE_PER_ROUND), BACKGROUND, seed)
    generator = Generator(scenario, services)
    rng = random.Random(seed)  # nosec B311 - seeded traffic for repeatable runs, not security
    started, rounds, storm = time.monotonic(), 0, False
    while (elapsed := time.monotonic() - started) < seconds:
        if storm != (seconds / 3 <= elapsed < 2 * seconds / 3):
            storm = not storm
            _set_faults(services, STORM, BACKGROUND) if storm else _set_faults(services, BACKGROUND)
            print(f"  {elapsed:5.0f} s: fault storm {'starts' if storm else 'ends'}", file=sys.stderr, flush=True)
        generator.people_phase(_round(rng))
        generator.refresh_phase(1)
        rounds += 1
    generator.last_phase()
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logpipe.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="traffic duration (default 3)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "var" / "report")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "events.jsonl"
    with tempfile.TemporaryDirectory(prefix="demo-") as tmp:
        services = Services(Path(tmp), FLOW_TTL_S, dict(FAST_APP_SETTINGS))
        try:
            services.start({"seed": args.seed, "rate_limit_per_10s": 0, "token_lifetime_s": 3600},  # nosec B105 - seconds
                           BACKGROUND.rules())
            print(f"app {services.app_url}, simulator {services.sim_url}; traffic for {args.minutes:g} min",
                  file=sys.stderr, flush=True)
            rounds = drive(services, args.seed, args.minutes * 60)
        finally:
            services.stop()
        shutil.copyfile(services.event_log, log)
    print(f"{rounds} rounds of {PEOPLE_PER_ROUND} people; event log: {log}\n", file=sys.stderr, flush=True)
    report = subprocess.run([sys.executable, "-m", "logpipe", "report", "--logs", str(log)], cwd=REPO)
    store = LogStore.from_jsonl(log)
    times = [entry.ts_ns for entry in store.iter_entries()]
    window = Window(min(times), max(times))
    for dashboard in sorted(DASHBOARD_DIR.glob("*.json")):
        print(f"chart: {render(dashboard, store, window, args.out / f'{dashboard.stem}.png')}")
    return report.returncode


if __name__ == "__main__":
    sys.exit(main())
