"""`python -m logpipe query`: run a LogQL query over a JSON-lines log file and print Loki's response."""
from __future__ import annotations

import argparse
import sys
import time

from logpipe.logql import (LogQLError, LogQLSyntaxError, LogStore, UnsupportedLogQL, instant_query,
                           parse, parse_duration, parse_time, range_query)
from logpipe.logql.parser import Parser

USAGE_ERROR = 2
QUERY_ERROR = 1
MAX_SKIPPED_SHOWN = 5


def register(subparsers) -> None:
    """Add the `query` command to the dispatcher's subparsers."""
    p = subparsers.add_parser("query", help="evaluate a LogQL query over a JSON-lines log file",
                              description="Prints the response of Loki's /loki/api/v1/query "
                                          "(or /query_range with --start/--end/--step).")
    p.add_argument("--logs", required=True, help="JSON lines, one FR-016 record per line")
    p.add_argument("--labels", help='stream labels for every line, e.g. {app="basecamp-integration",env="dev"}; '
                                    "default: those our Vector remap program sets")
    p.add_argument("--time", help="instant query time: RFC 3339 or Unix seconds (default: now)")
    p.add_argument("--start", help="range query start (RFC 3339 or Unix seconds)")
    p.add_argument("--end", help="range query end (RFC 3339 or Unix seconds)")
    p.add_argument("--step", help="range query step: a duration (1m) or seconds (default: Loki's)")
    p.add_argument("--limit", type=int, default=100, help="max log lines for a log query (default 100)")
    p.add_argument("--direction", choices=("backward", "forward"), default="backward")
    p.add_argument("query", help="the LogQL query")
    p.set_defaults(handler=run)


def parse_labels(text: str) -> dict[str, str]:
    """`{k="v", ...}` (equality matchers only) as a dict; raises LogQLError."""
    parser = Parser(text)
    matchers = parser.parse_selector()
    if parser.peek().kind != "EOF":
        raise parser.unexpected("end of labels")
    if any(m.op != "=" for m in matchers):
        raise LogQLError("--labels takes only name=\"value\" pairs")
    return {m.name: m.value for m in matchers}


def _step_ns(text: str | None, start: int, end: int) -> int:
    if text is None:
        return max((end - start) // 250 // 1_000_000_000, 1) * 1_000_000_000
    try:
        return int(float(text) * 1_000_000_000)
    except ValueError:
        return parse_duration(text)


def run(args: argparse.Namespace) -> int:
    """Handler: print the JSON response; 2 for bad usage or syntax/unsupported, 1 for evaluation errors."""
    try:
        expr = parse(args.query)
    except (LogQLSyntaxError, UnsupportedLogQL) as err:
        print(err, file=sys.stderr)
        return USAGE_ERROR
    try:
        labels = parse_labels(args.labels) if args.labels is not None else None
        ranged = args.start is not None or args.end is not None
        if ranged and (args.start is None or args.end is None or args.time is not None):
            raise LogQLError("a range query needs both --start and --end (and no --time)")
        if ranged:
            start, end = parse_time(args.start), parse_time(args.end)
            step = _step_ns(args.step, start, end)
            if step <= 0 or end < start:
                raise LogQLError("a range query needs --end >= --start and a positive --step")
        else:
            at = parse_time(args.time) if args.time is not None else time.time_ns()
        store = LogStore.from_jsonl(args.logs, labels)
    except LogQLError as err:
        print(f"logpipe query: {err}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as err:
        print(f"logpipe query: cannot read {args.logs}: {err.strerror}", file=sys.stderr)
        return USAGE_ERROR
    _report_skipped(store)
    try:
        if ranged:
            result = range_query(store, expr, start, end, step, limit=args.limit, direction=args.direction)
        else:
            result = instant_query(store, expr, at, limit=args.limit, direction=args.direction)
    except UnsupportedLogQL as err:
        print(err, file=sys.stderr)
        return USAGE_ERROR
    except LogQLError as err:
        print(f"logpipe query: {err}", file=sys.stderr)
        return QUERY_ERROR
    print(result.to_json())
    return 0


def _report_skipped(store: LogStore) -> None:
    if not store.skipped:
        return
    shown = "; ".join(f"line {n}: {why}" for n, why in store.skipped[:MAX_SKIPPED_SHOWN])
    more = f"; and {len(store.skipped) - MAX_SKIPPED_SHOWN} more" if len(store.skipped) > MAX_SKIPPED_SHOWN else ""
    print(f"logpipe query: {len(store.skipped)} line(s) not ingested: {shown}{more}", file=sys.stderr)

