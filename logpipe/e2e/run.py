"""Run scenarios end to end: services up, traffic, services down, rules over the log, Alertmanager."""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from logpipe.e2e.check import Evaluation, Row, check
from logpipe.e2e.delivery import deliver
from logpipe.e2e.scenarios import Scenario
from logpipe.e2e.servers import Services
from logpipe.e2e.traffic import FLOW_TTL_S, Generator, Truth
from logpipe.e2e.truth import expected_alerts

#: The app's retry waits, shortened so that 429 and 5xx storms do not take minutes: Retry-After
#: is still read and honoured, capped at 10 ms; backoff keeps its full-jitter shape.
# Short retry waits, and no client-side pacing: the simulator's own per-IP limit is off too, so
# every 429 in a run is one of the seeded faults.
FAST_APP_SETTINGS = {"BASECAMP_BACKOFF_BASE": "0.01", "BASECAMP_BACKOFF_MAX": "0.05", "BASECAMP_RETRY_AFTER_MAX": "0.01",
                     "BASECAMP_RATE_LIMIT": "off"}


@dataclass
class Result:
    scenario: Scenario
    truth: Truth
    evaluation: Evaluation
    rows: list[Row]
    seconds: float
    log: Path | None  # the event log when kept

    @property
    def ok(self) -> bool:
        return all(row.match for row in self.rows)


def run_traffic(scenario: Scenario, workdir: Path) -> tuple[Truth, Path, Row]:
    """Start the services, drive the scenario, stop them; the ground truth, the event log and
    the secret scan of every log line the app wrote."""
    services = Services(workdir, FLOW_TTL_S, dict(FAST_APP_SETTINGS))
    try:
        services.start(scenario.sim_settings(), scenario.fault_rules())
        truth = Generator(scenario, services).run()
    finally:
        services.stop()
    leaked = services.leaked()
    scan = Row("secrets", "log lines holding a secret handed out (event log, app stderr)",
               f"{len(leaked)}", f"0 of {len(services.handed_out)} secrets", not leaked)
    return truth, services.event_log, scan


def run_scenario(scenario: Scenario, keep: Path | None = None) -> Result:
    """One scenario from start to the compared table (workdir kept under `keep` when given)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"e2e-{scenario.name}-") as tmp:
        truth, log, scan = run_traffic(scenario, (keep / scenario.name) if keep else Path(tmp))
        evaluation = check(log, truth, scenario)
        expected = expected_alerts(truth, evaluation.alert_ns / 1e9)
        rows = evaluation.rows + deliver(evaluation.firing, expected, evaluation.alert_ns) + [scan]
    return Result(scenario, truth, evaluation, rows, time.monotonic() - started, log if keep else None)
