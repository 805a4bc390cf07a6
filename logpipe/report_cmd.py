"""`python -m logpipe report --logs FILE [--time T] [--labels …]`: the spec's Performance
Targets Summary (measured value, target, OK/WARNING/CRITICAL), the recorded metrics, then the
alerts firing at T, all from the project's rule files evaluated over a JSON-lines log file."""
import argparse
import sys
from datetime import datetime, timezone

from logpipe.logql import LogQLError, LogStore, parse_time
from logpipe.monitoring import report
from logpipe.query_cmd import parse_labels
from logpipe.ruletest.alerting import EvalError
from logpipe.ruletest.errors import ConfigError

USAGE_ERROR = 2
RULE_ERROR = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `report` subcommand."""
    p = subparsers.add_parser(
        "report", help="evaluate the project's rules over a log file: targets and firing alerts")
    p.add_argument("--logs", required=True, help="JSON lines, one FR-016 record per line")
    p.add_argument("--time", help="evaluation time, RFC 3339 or Unix seconds "
                                  "(default: the latest line's timestamp)")
    p.add_argument("--labels", help='stream labels for every line, e.g. {app="basecamp-integration"}'
                                    "; default: those our Vector remap program sets")
    p.set_defaults(handler=run)


def _rfc3339(ts_ns: int) -> str:
    moment = datetime.fromtimestamp(ts_ns // 10**9, tz=timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _table(rows: list[report.TargetRow]) -> str:
    lines = ["| Metric | Measured | Target | Alert threshold | Status |",
             "|---|---|---|---|---|"]
    for row in rows:
        unit = row.measure.unit
        measured = "no data" if row.value is None else unit.format(row.value)
        limits = ", ".join(f"{t.text(unit)} ({t.severity.upper()})"
                           for t in row.measure.thresholds)
        lines.append(f"| {row.measure.title} | {measured} | "
                     f"{row.measure.thresholds[0].target_text(unit)} | {limits} | {row.status} |")
    return "\n".join(lines)


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def run(args: argparse.Namespace) -> int:
    """Handler: 0 after printing the report, 2 for unusable input, 1 when a rule fails."""
    try:
        labels = parse_labels(args.labels) if args.labels is not None else None
        store = LogStore.from_jsonl(args.logs, labels)
        entries = store.entries
        if not entries and args.time is None:
            raise LogQLError("the log file holds no lines; pass --time")
        ts_ns = parse_time(args.time) if args.time is not None else max(e.ts_ns for e in entries)
    except LogQLError as err:
        print(f"logpipe report: {err}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as err:
        print(f"logpipe report: cannot read {args.logs}: {err.strerror}", file=sys.stderr)
        return USAGE_ERROR
    for number, reason in store.skipped:
        print(f"logpipe report: line {number} skipped: {reason}", file=sys.stderr)
    try:
        rows = report.targets(store, ts_ns)
        series = report.recorded(store, ts_ns)
        alerts = report.firing_alerts(store, ts_ns)
    except (LogQLError, ConfigError, EvalError) as err:
        print(f"logpipe report: {err}", file=sys.stderr)
        return RULE_ERROR
    print(f"Performance Targets Summary at {_rfc3339(ts_ns)} ({len(entries)} log lines)\n")
    print(_table(rows))
    print("\nRecorded metrics:")
    for record, labels, value in series:
        print(f"  {record}{_labels(labels) if labels else ''} {value:g}")
    print(f"\nAlerts firing: {len(alerts)}")
    for alert in sorted(alerts, key=lambda a: (a.labels.get("severity") != "critical",
                                               a.labels["alertname"], sorted(a.labels.items()))):
        extra = {k: v for k, v in alert.labels.items() if k not in ("alertname", "severity")}
        print(f"  {alert.labels.get('severity', '').upper():8} {alert.labels['alertname']}"
              f"{_labels(extra) if extra else ''}: {alert.annotations.get('summary', '')}")
    return 0
