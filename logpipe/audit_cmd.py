"""`python -m logpipe audit`: the spec's audit trail (FR-016) as LogQL, over a log file or a Loki.

`audit list` shows the audits; `audit NAME --logs FILE | --loki URL [--since 7d] [--until T]
[--limit N] [--format table|csv|json]` runs one. Exit codes: 0 done, 1 the query failed (Loki
unreachable or refusing, unreadable file), 2 bad arguments or LogQL the engine does not support.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from logpipe.audit import output
from logpipe.audit.catalogue import AUDITS, Audit, BucketAudit
from logpipe.audit.filesource import FileSource
from logpipe.audit.loki import DEFAULT_MAX_QUERY_LENGTH_NS, DEFAULT_PAGE_SIZE, LokiClient, LokiError
from logpipe.audit.lokidata import LokiDataError
from logpipe.audit.run import Source, run
from logpipe.logql import LogQLError, UnsupportedLogQL, parse_duration, parse_time
from logpipe.query_cmd import parse_labels

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _at_least(minimum: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text}")
        return value
    return check


def _positive_seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _duration(text: str) -> int:
    try:
        value = parse_duration(text)
    except LogQLError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _time(text: str) -> int:
    try:
        return parse_time(text)
    except LogQLError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `audit` subcommand: `audit list` and one sub-subcommand per audit."""
    parser = subparsers.add_parser("audit", help="the spec's audit trail as LogQL, over a log file or a Loki",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    audits = parser.add_subparsers(dest="audit_name", required=True, metavar="AUDIT")
    audits.add_parser("list", help="show the audits").set_defaults(handler=_list)
    for audit in AUDITS:
        epilog = (f"Rows are whole UTC buckets of {audit.bucket}: every bucket that [until - since, until) "
                  "touches is counted in full." if isinstance(audit, BucketAudit) else None)
        sub = audits.add_parser(audit.name, help=audit.description, description=audit.description, epilog=epilog)
        _add_options(sub, audit)
        sub.set_defaults(handler=_run, audit=audit)


def _add_options(parser: argparse.ArgumentParser, audit: Audit) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--logs", metavar="FILE", help="FR-016 JSON lines, queried with logpipe's LogQL engine")
    source.add_argument("--loki", metavar="URL", help="a Loki base URL, queried through /loki/api/v1/query_range")
    parser.add_argument("--labels", metavar='{k="v",…}',
                        help="with --logs: stream labels for every line (default: our Vector remap program's)")
    parser.add_argument("--tenant", help="with --loki: the tenant (X-Scope-OrgID header)")
    parser.add_argument("--timeout", type=_positive_seconds, default=30.0, metavar="SECONDS",
                        help="with --loki: seconds to wait for each answer (default 30)")
    parser.add_argument("--page-size", type=_at_least(2), default=DEFAULT_PAGE_SIZE, metavar="N",
                        help=f"with --loki: entries per request, at most Loki's max_entries_limit_per_query "
                             f"(default {DEFAULT_PAGE_SIZE})")
    parser.add_argument("--max-query-length", type=_duration, default=DEFAULT_MAX_QUERY_LENGTH_NS,
                        metavar="DURATION", help="with --loki: Loki's max_query_length; longer ranges are split "
                                                 "(default 721h)")
    parser.add_argument("--since", type=_duration, default=parse_duration("7d"), metavar="DURATION",
                        help="how far back from --until (default 7d)")
    parser.add_argument("--until", type=_time, metavar="TIME", help="end of the range, exclusive: RFC 3339 or "
                                                                     "Unix seconds (default now)")
    default_limit = "all rows" if audit.limit is None else str(audit.limit)
    parser.add_argument("--limit", type=_at_least(1), metavar="N", help=f"at most N rows (default {default_limit})")
    parser.add_argument("--format", choices=output.FORMATS, default="table")
    if "user_id" in audit.logql.get_identifiers():
        parser.add_argument("--user-id", type=_at_least(1), required=True, help="the user's id")


def _list(args: argparse.Namespace) -> int:
    width = max(len(audit.name) for audit in AUDITS)
    for audit in AUDITS:
        limit = "all rows" if audit.limit is None else f"{audit.limit} rows"
        unit = f"; one row per UTC bucket of {audit.bucket}" if isinstance(audit, BucketAudit) else ""
        print(f"{audit.name.ljust(width)}  {audit.description}")
        print(f"{''.ljust(width)}  columns: {', '.join(audit.columns)} (newest first{unit}; default {limit})")
    return EXIT_OK


def _source(args: argparse.Namespace) -> Source:
    if args.loki:
        return LokiClient(args.loki, tenant=args.tenant, timeout=args.timeout, page_size=args.page_size,
                          max_query_length_ns=args.max_query_length)
    source = FileSource(args.logs, parse_labels(args.labels) if args.labels else None)
    if source.skipped:
        number, reason = source.skipped[0]
        print(f"audit: {len(source.skipped)} line(s) of {args.logs} not ingested; line {number}: {reason}",
              file=sys.stderr)
    return source


def _run(args: argparse.Namespace) -> int:
    audit: Audit = args.audit
    if args.labels and not args.logs or args.tenant and not args.loki:
        print("audit: --labels goes with --logs, --tenant with --loki", file=sys.stderr)
        return EXIT_USAGE
    end = time.time_ns() if args.until is None else args.until
    params = {"user_id": str(args.user_id)} if "user_id" in audit.logql.get_identifiers() else {}
    try:
        rows = run(audit, _source(args), end - args.since, end, args.limit, params)
    except UnsupportedLogQL as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (LokiError, LokiDataError, LogQLError, OSError) as exc:
        print(f"audit {audit.name}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    output.write(rows, audit.columns, args.format, sys.stdout)
    return EXIT_OK
