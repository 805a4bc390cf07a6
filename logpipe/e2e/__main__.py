"""`python -m logpipe.e2e [--users N] [--seed S] [--scenario healthy|faulty|all] [fault rates]`.

Exit status 0 when every row matches, 1 otherwise. The table goes to stdout and to --out.
"""
from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path

from benchmarks.machine import describe
from logpipe.e2e import check
from logpipe.e2e.run import FAST_APP_SETTINGS, Result, run_scenario
from logpipe.e2e.scenarios import FaultRates, Scenario, degraded, faulty, healthy
from logpipe.e2e.servers import REPO
from logpipe.e2e.traffic import FLOW_TTL_S
from logpipe.e2e.table import markdown, text

DEFAULT_FAULTS = FaultRates(rate_limit=0.5, server_error=0.1, invalid_grant=0.15, latency=0.2)
DEFAULT_OUT = REPO / "benchmarks" / "e2e.md"


def _rate(value: str) -> float:
    rate = float(value)
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not a probability between 0 and 1")
    return rate


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m logpipe.e2e", description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", choices=("healthy", "degraded", "faulty", "all"), default="all")
    p.add_argument("--users", type=int, default=40, help="people per scenario (default 40)")
    p.add_argument("--seed", type=int, default=7, help="generator and simulator seed (default 7)")
    p.add_argument("--refresh-passes", type=int, default=4, help="refresh-due passes (default 4)")
    p.add_argument("--rate-limit", type=_rate, default=DEFAULT_FAULTS.rate_limit, help="faulty: 429 rate")
    p.add_argument("--server-error", type=_rate, default=DEFAULT_FAULTS.server_error, help="faulty: 5xx rate")
    p.add_argument("--invalid-grant", type=_rate, default=DEFAULT_FAULTS.invalid_grant,
                   help="faulty: invalid_grant rate on refreshes")
    p.add_argument("--latency", type=_rate, default=DEFAULT_FAULTS.latency, help="faulty: latency fault rate")
    p.add_argument("--latency-ms", type=int, default=DEFAULT_FAULTS.latency_ms)
    p.add_argument("--retry-after", type=int, default=DEFAULT_FAULTS.retry_after_s, help="429 Retry-After, s")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown table (default benchmarks/e2e.md)")
    p.add_argument("--keep", type=Path, help="keep each scenario's database and event log under this directory")
    return p.parse_args(argv)


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    faults = FaultRates(args.rate_limit, args.server_error, args.invalid_grant, args.latency, args.latency_ms,
                        args.retry_after)
    made = [healthy(args.users, args.seed), degraded(args.users, args.seed, args.refresh_passes),
            faulty(args.users, args.seed, faults)]
    chosen = [dataclasses.replace(s, behaviours=dataclasses.replace(s.behaviours, refresh_passes=args.refresh_passes))
              for s in made if args.scenario in ("all", s.name)]
    for scenario in chosen:
        scenario.behaviours.validate()
    return chosen


def write_markdown(path: Path, results: list[Result], command: str) -> None:
    retries = ", ".join(f"{k}={v}" for k, v in FAST_APP_SETTINGS.items())
    lines = [
        "# End-to-end proof: metrics and alerts from the log equal the ground truth",
        "",
        "Written by `make e2e` (`python -m logpipe.e2e`); the last run's tables. The app and the",
        "simulator run on loopback, people are driven over HTTP, the FR-016 log goes through our",
        "Vector remap program (pyvrl) into the LogQL engine, the recording rules are evaluated at the",
        "last event (E), the alerting rules with the rule test runner's state machine at C (E + the",
        "longest `for` + one interval), and the firing alerts are posted to the real Alertmanager",
        "(the criticals, which inhibit warnings, first; see logpipe/e2e/delivery.py).",
        "Ground truth: the generator's own counts and timings and the simulator's `/_admin/counts`.",
        "Durations: each request paired with its event (app time ≤ client time), quantiles within",
        "client_q(q − k/(n−1)) − B ≤ server_q ≤ client_q, B = "
        + ", ".join(f"{t.budget:g} {t.unit}" for t in check.TIMINGS) + " per request; see logpipe/e2e/check.py.",
        "",
        describe(),
        "",
        f"Command: `{command}`; app settings {retries}; OAuth flow lifetime shortened to {FLOW_TTL_S:g} s.",
        "",
    ]
    for result in results:
        lines.append(markdown(result))
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        chosen = scenarios(args)
    except ValueError as exc:
        print(f"logpipe e2e: {exc}", file=sys.stderr)
        return 2
    results = []
    for scenario in chosen:
        result = run_scenario(scenario, args.keep)
        print(text(result), end="\n\n", flush=True)
        results.append(result)
    command = "python -m logpipe.e2e " + shlex.join(argv if argv is not None else sys.argv[1:])
    write_markdown(args.out, results, command.strip())
    print(f"table written to {args.out}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
