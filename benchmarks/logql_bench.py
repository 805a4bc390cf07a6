"""Benchmark of the LogQL engine (issue 3, "Proof and speed").

A range query (1 h, step 1 m) of a `sum by` ratio of two `count_over_time ... | json ...` over
1,000,000 synthetic FR-016 lines, run end to end as `python -m logpipe query` (file load + query)
in a subprocess; wall time is the median of 3 runs, peak memory the child's max RSS.
`run()` returns the markdown section for benchmarks/results.md.
"""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import jsonschema

from benchmarks.machine import describe

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "app" / "events" / "fr016.schema.json"
LINES = 1_000_000
RUNS = 3
TARGET_SECONDS = 20.0
TARGET_RSS_BYTES = 1 << 30
START = 1_767_225_600  # 2026-01-01T00:00:00Z; the query covers [START, START + 1h]
LABELS = '{app="basecamp-integration",env="prod"}'
QUERY = ('sum by (event) (count_over_time({app="basecamp-integration"} | json | status="failure" [5m])) '
         '/ sum by (event) (count_over_time({app="basecamp-integration"} | json [5m]))')
EVENTS = {
    "basecamp_oauth_initiate": (None, "OAuth connect initiated"),
    "basecamp_oauth_connect": ("token_exchange_failed", "OAuth connection"),
    "basecamp_token_refresh": ("invalid_grant", "Token refresh"),
    "basecamp_api_request": ("rate_limited", "API request"),
    "basecamp_status_check": ("not_connected", "Status check"),
    "basecamp_disconnect": ("not_connected", "Disconnect"),
    "basecamp_account_health": (None, "Account health"),
}


def _record(rng: random.Random, ts: float) -> dict:
    event = rng.choice(list(EVENTS))
    error_type, what = EVENTS[event]
    failed = error_type is not None and rng.random() < 0.1
    stamp = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "timestamp": stamp,
        "level": "ERROR" if failed else "INFO",
        "event": event,
        "user_id": rng.randint(1, 500),
        "account_id": str(rng.randint(10_000, 99_999)),
        "status": "failure" if failed else "success",
        "duration_ms": round(rng.uniform(5, 900), 2),
        "error": f"{what} failed" if failed else None,
        "error_type": error_type if failed else None,
        "message": f"{what} {'failed' if failed else 'succeeded'}",
        "metadata": {"attempt": 1, "max_retries": 3, "http_status": 400 if failed else 200},
    }


def generate(path: Path, lines: int = LINES, seed: int = 3) -> None:
    """Write `lines` FR-016 records spread over [START - 6 min, START + 1 h] in time order."""
    rng = random.Random(seed)
    first, span = START - 360, 3960
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(lines):
            record = _record(rng, first + span * i / lines)
            if i < 1000:
                validator.validate(record)
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")


def _measure(log_file: Path) -> tuple[float, int, float, str]:
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True); "
            "wall = time.perf_counter() - t; "
            "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
            "print(wall, u.ru_maxrss, u.ru_utime + u.ru_stime, p.returncode); "
            "sys.stderr.write(p.stderr); sys.stdout.write(p.stdout)")
    argv = [sys.executable, "-c", code, sys.executable, "-m", "logpipe", "query", "--logs", str(log_file),
            "--labels", LABELS, "--start", str(START), "--end", str(START + 3600), "--step", "1m", QUERY]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=True)
    head, _, body = out.stdout.partition("\n")
    wall, rss_kib, cpu, rc = head.split()
    if rc != "0":
        raise RuntimeError(f"query failed: {out.stderr}")
    return float(wall), int(rss_kib) * 1024, float(cpu), body


def run() -> str:
    """Generate the data, run the query 3 times, and return the markdown results section."""
    with tempfile.TemporaryDirectory() as tmp:
        log_file = Path(tmp) / "fr016.jsonl"
        generate(log_file)
        size = log_file.stat().st_size
        walls, cpus, rss, body = [], [], 0, ""
        for _ in range(RUNS):
            wall, peak, cpu, body = _measure(log_file)
            walls.append(wall)
            cpus.append(cpu)
            rss = max(rss, peak)
        load = os.getloadavg()[0]
    result = json.loads(body)["data"]["result"]
    median = statistics.median(walls)
    return "\n".join([
        "## LogQL engine: 1 h range query over 1,000,000 lines",
        "",
        f"- {describe()}",
        f"- Input: {LINES:,} synthetic FR-016 lines ({size / 1e6:.0f} MB, first 1,000 validated against "
        "fr016.schema.json), stream labels `" + LABELS + "`",
        f"- Query (`python -m logpipe query`, load + evaluate, 1 h at step 1 m = 61 steps): `{QUERY}`",
        f"- Result: {len(result)} series x {len(result[0]['values']) if result else 0} points",
        "",
        "| measure | measured | target | ratio to target |",
        "|---|---|---|---|",
        f"| wall time, median of {RUNS} (runs: {', '.join(f'{w:.1f}' for w in walls)} s) | {median:.1f} s | "
        f"<= {TARGET_SECONDS:.0f} s | {median / TARGET_SECONDS:.2f} |",
        f"| CPU time (user + sys), median | {statistics.median(cpus):.1f} s | - | - |",
        f"| peak RSS (max of runs) | {rss / 2**20:.0f} MiB | <= 1024 MiB | {rss / TARGET_RSS_BYTES:.2f} |",
        "",
        f"Load average when the runs ended: {load:.2f} (other work shares the 2 CPUs; wall time above "
        "CPU time is waiting for a CPU).",
        "",
    ])


if __name__ == "__main__":
    print(run())
