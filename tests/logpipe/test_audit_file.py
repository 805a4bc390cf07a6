"""`python -m logpipe audit --logs FILE`: the audits over FR-016 records through the LogQL engine.

The log is built by hand: known failures, users, days and hours, with records on the edges (at
`--since`, at `--until`, at midnight, at the last microsecond of a day). Each line goes through our
Vector remap program (pyvrl), as in production. Expected rows are computed from the records in
plain Python.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import pytest

from app.events.catalogue import ErrorType, Event, Status
from app.events.schema import SCHEMA_PATH
from logpipe.__main__ import main as logpipe_main
from logpipe.audit.catalogue import AUDITS, LOGQL_QUERIES, percent
from logpipe.logql import LogStore, parse, range_query

UNTIL = "2026-11-30T12:00:00Z"
SINCE = "2026-11-23T12:00:00Z"  # the default --since 7d


def at(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def record(ts: str, event: Event, status: Status, user_id: int | None, *, error_type: ErrorType | None = None,
           error: str | None = None, http_status: int | None = None) -> dict[str, Any]:
    """One complete FR-016 record (timestamps written as Vector re-writes them: µs, or none when whole)."""
    failed = status is Status.FAILURE
    return {
        "timestamp": ts, "level": "ERROR" if failed else "INFO", "event": event.value, "user_id": user_id,
        "account_id": None if user_id is None else str(5550000 + user_id), "status": status.value,
        "duration_ms": 42.5, "error": error if failed else None,
        "error_type": error_type.value if error_type else None, "message": f"{event.value} {status.value}",
        "metadata": {"attempt": 1, "max_retries": 3, "http_status": http_status},
    }


OK, FAIL = Status.SUCCESS, Status.FAILURE
CONNECT, REFRESH, API = Event.OAUTH_CONNECT, Event.TOKEN_REFRESH, Event.API_REQUEST

RECORDS = [
    # OAuth callbacks: days 20 (out of range), 23 (before --since: its day still counts whole), 26-28, 30.
    record("2026-11-20T10:00:00Z", CONNECT, OK, 1),
    record("2026-11-23T08:00:00Z", CONNECT, FAIL, 2, error_type=ErrorType.SESSION_EXPIRED, error="flow expired"),
    record("2026-11-26T23:59:59.999999Z", CONNECT, OK, 3),
    record("2026-11-27T00:00:00Z", CONNECT, FAIL, 4, error_type=ErrorType.INVALID_STATE, error="state mismatch"),
    record("2026-11-27T09:15:00.250001Z", CONNECT, OK, 7),
    record("2026-11-27T18:00:00Z", CONNECT, OK, 70),
    record("2026-11-28T00:00:00.000001Z", CONNECT, FAIL, 7, error_type=ErrorType.TOKEN_EXCHANGE_FAILED,
           error="token endpoint answered 500"),
    record("2026-11-28T11:00:00Z", CONNECT, FAIL, 8, error_type=ErrorType.AUTHORIZATION_FAILED, error="access_denied"),
    record("2026-11-28T11:30:00Z", CONNECT, OK, 8),
    record("2026-11-30T11:59:59.999999Z", CONNECT, OK, 9),
    record("2026-11-30T12:00:00Z", CONNECT, OK, 10),  # at --until: outside log audits, inside its whole day
    # Token refreshes.
    record("2026-11-22T10:00:00Z", REFRESH, FAIL, 7, error_type=ErrorType.INVALID_GRANT, error="revoked"),
    record("2026-11-23T12:00:00Z", REFRESH, FAIL, 7, error_type=ErrorType.INVALID_GRANT, error="at since"),
    record("2026-11-25T06:00:00.000123Z", REFRESH, FAIL, None, error_type=ErrorType.SERVER_ERROR, error="502"),
    record("2026-11-25T06:00:01Z", REFRESH, OK, 7),
    record("2026-11-29T10:00:00Z", REFRESH, FAIL, 70, error_type=ErrorType.RATE_LIMITED, error="429"),
    record("2026-11-30T12:00:00Z", REFRESH, FAIL, 7, error_type=ErrorType.INVALID_GRANT, error="at until"),
    # Basecamp API requests: 429s in hours 29th 10:00 (3, on both edges), 29th 11:00 (1), 30th 00:00 (2).
    record("2026-11-29T09:59:59.999999Z", API, OK, 7, http_status=200),
    record("2026-11-29T10:00:00Z", API, FAIL, 7, error_type=ErrorType.RATE_LIMITED, error="slow down",
           http_status=429),
    record("2026-11-29T10:30:00Z", API, FAIL, 70, error_type=ErrorType.RATE_LIMITED, error="slow down",
           http_status=429),
    record("2026-11-29T10:59:59.999999Z", API, FAIL, 7, error_type=ErrorType.RATE_LIMITED, error="slow down",
           http_status=429),
    record("2026-11-29T11:00:00Z", API, FAIL, 7, error_type=ErrorType.RATE_LIMITED, error="slow down",
           http_status=429),
    record("2026-11-29T11:10:00Z", API, FAIL, 7, error_type=ErrorType.SERVER_ERROR, error="bad gateway",
           http_status=502),
    record("2026-11-29T11:20:00Z", API, FAIL, 7, error_type=ErrorType.NETWORK_ERROR, error="timed out"),
    record("2026-11-30T00:00:00Z", API, FAIL, None, error_type=ErrorType.RATE_LIMITED, error="slow down",
           http_status=429),
    record("2026-11-30T00:45:00.500001Z", API, FAIL, 9, error_type=ErrorType.RATE_LIMITED, error="slow down",
           http_status=429),
]


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return path


def audit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `python -m logpipe audit ARGV…` in-process: (exit code, stdout, stderr)."""
    code = logpipe_main(["audit", *argv])
    return (code, *capsys.readouterr())


def rows(capsys, log_file: Path, name: str, *extra: str) -> list[dict[str, Any]]:
    """The audit's JSON rows (from `log_file`, unless `extra` names another source with --loki)."""
    source = () if "--loki" in extra else ("--logs", str(log_file))
    code, out, err = audit(capsys, name, *source, "--until", UNTIL, "--format", "json", *extra)
    assert (code, err) == (0, "")
    return json.loads(out)


def newest_first(keep, columns: tuple[str, ...], since: str = SINCE) -> list[dict[str, Any]]:
    """Records in [since, UNTIL) that `keep` accepts, newest first, as rows of `columns`."""
    chosen = [r for r in RECORDS if at(since) <= at(r["timestamp"]) < at(UNTIL) and keep(r)]
    chosen.sort(key=lambda r: at(r["timestamp"]), reverse=True)
    return [{c: r[c] for c in columns} for r in chosen]


def test_records_are_valid_fr016() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    for r in RECORDS:
        jsonschema.validate(r, schema)


def test_every_audit_query_parses_in_the_engine() -> None:
    assert set(LOGQL_QUERIES) == {a.name for a in AUDITS}
    for query in LOGQL_QUERIES.values():
        parse(query)


def test_recent_refresh_failures(capsys, log_file: Path) -> None:
    got = rows(capsys, log_file, "recent-refresh-failures")
    assert got == newest_first(lambda r: r["event"] == REFRESH and r["status"] == "failure",
                               ("timestamp", "user_id", "account_id", "error"))
    assert [r["error"] for r in got] == ["429", "502", "at since"]  # --since inclusive, --until exclusive


def test_limit_keeps_the_newest(capsys, log_file: Path) -> None:
    assert [r["error"] for r in rows(capsys, log_file, "recent-refresh-failures", "--limit", "2")] == ["429", "502"]


def test_failed_connections(capsys, log_file: Path) -> None:
    got = rows(capsys, log_file, "failed-connections")
    assert got == newest_first(lambda r: r["event"] == CONNECT and r["status"] == "failure",
                               ("timestamp", "user_id", "error_type", "error"))
    assert [r["error_type"] for r in got] == ["authorization_failed", "token_exchange_failed", "invalid_state"]


def test_user_events_match_the_user_exactly(capsys, log_file: Path) -> None:
    columns = ("timestamp", "event", "level", "status", "account_id", "error_type", "error", "message")
    got = rows(capsys, log_file, "user-events", "--user-id", "7", "--since", "30d")
    assert got == newest_first(lambda r: r["user_id"] == 7, columns, since="2026-10-31T12:00:00Z")
    assert len(got) == 11  # user 70 is not user 7


def test_connection_success_by_day_counts_whole_utc_days(capsys, log_file: Path) -> None:
    got = rows(capsys, log_file, "connection-success-by-day")
    days = Counter((r["timestamp"][:10], r["status"]) for r in RECORDS
                   if r["event"] == CONNECT and "2026-11-23" <= r["timestamp"][:10] <= "2026-11-30")
    expected = []
    for day in sorted({d for d, _ in days}, reverse=True):
        ok, total = days[day, "success"], days[day, "success"] + days[day, "failure"]
        rate = (Decimal(100 * ok) / Decimal(total)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        expected.append({"date": day, "total": total, "successful": ok, "success_rate": float(rate)})
    assert got == expected
    # The edges: midnight belongs to the day it starts; the last microsecond to the day it ends.
    assert got == [
        {"date": "2026-11-30", "total": 2, "successful": 2, "success_rate": 100.0},
        {"date": "2026-11-28", "total": 3, "successful": 1, "success_rate": 33.33},
        {"date": "2026-11-27", "total": 3, "successful": 2, "success_rate": 66.67},
        {"date": "2026-11-26", "total": 1, "successful": 1, "success_rate": 100.0},
        {"date": "2026-11-23", "total": 1, "successful": 0, "success_rate": 0.0},
    ]


def test_rate_limit_hits_by_hour(capsys, log_file: Path) -> None:
    got = rows(capsys, log_file, "rate-limit-hits-by-hour")
    hours = Counter(r["timestamp"][:13] for r in RECORDS
                    if r["event"] == API and r["metadata"]["http_status"] == 429)
    assert got == [{"hour": f"{h}:00:00Z", "hits": n} for h, n in sorted(hours.items(), reverse=True)]
    assert [r["hits"] for r in got] == [2, 1, 3]


def test_table_and_csv(capsys, log_file: Path) -> None:
    code, out, _ = audit(capsys, "connection-success-by-day", "--logs", str(log_file), "--until", UNTIL,
                         "--since", "4d")
    assert code == 0
    assert out == ("date        total  successful  success_rate\n"
                   "----------  -----  ----------  ------------\n"
                   "2026-11-30      2           2        100.00\n"
                   "2026-11-28      3           1         33.33\n"
                   "2026-11-27      3           2         66.67\n"
                   "2026-11-26      1           1        100.00\n")
    code, out, _ = audit(capsys, "recent-refresh-failures", "--logs", str(log_file), "--until", UNTIL,
                         "--format", "csv")
    assert out.splitlines() == ["timestamp,user_id,account_id,error", "2026-11-29T10:00:00Z,70,5550070,429",
                                "2026-11-25T06:00:00.000123Z,,,502", "2026-11-23T12:00:00Z,7,5550007,at since"]
    code, out, _ = audit(capsys, "recent-refresh-failures", "--logs", str(log_file), "--until", UNTIL)
    assert out == ("timestamp                    user_id  account_id  error\n"
                   "---------------------------  -------  ----------  --------\n"
                   "2026-11-29T10:00:00Z              70  5550070     429\n"
                   "2026-11-25T06:00:00.000123Z        -  -           502\n"
                   "2026-11-23T12:00:00Z               7  5550007     at since\n")


def test_labels_option_gives_every_line_these_stream_labels(capsys, tmp_path: Path) -> None:
    path = tmp_path / "refresh.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS if r["event"] == REFRESH))
    labels = '{app="basecamp-integration", env="dev", event="basecamp_token_refresh", level="ERROR"}'
    got = rows(capsys, path, "recent-refresh-failures", "--labels", labels)
    assert [r["error"] for r in got] == ["429", "502", "at since"]


def test_missing_file_fails_clearly(capsys, tmp_path: Path) -> None:
    code, _, err = audit(capsys, "failed-connections", "--logs", str(tmp_path / "nope.jsonl"))
    assert code == 1 and "nope.jsonl" in err


@pytest.mark.parametrize("part, whole, text", [(2, 3, "66.67"), (1, 32, "3.13"), (1, 1, "100.00"), (0, 4, "0.00"),
                                               (1, 6, "16.67"), (1, 80, "1.25")])
def test_percent_rounds_half_up_exactly(part: int, whole: int, text: str) -> None:
    assert str(percent(part, whole)) == text


def test_list_shows_every_audit(capsys) -> None:
    code, out, _ = audit(capsys, "list")
    assert code == 0
    width = max(len(a.name) for a in AUDITS)
    for a in AUDITS:
        assert f"{a.name.ljust(width)}  {a.description}\n" in out
        assert f"columns: {', '.join(a.columns)} (newest first" in out


@pytest.fixture(scope="module")
def engine_loki(log_file: Path):
    """A Loki stand-in on 127.0.0.1 whose answers the engine computes over the same log (Loki's log
    range is [start, end), the engine's [start, end]); yields (base URL, recorded parameters)."""
    store = LogStore.from_jsonl(log_file)
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            params = dict(parse_qsl(urlsplit(self.path).query))
            seen.append(params)
            start, end = int(params["start"]), int(params["end"])
            if "step" in params:
                result = range_query(store, params["query"], start, end, int(params["step"]) * 10**9)
            else:
                result = range_query(store, params["query"], start, end - 1, 1, limit=int(params["limit"]),
                                     direction=params["direction"])
            body = result.to_json().encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("name, extra", [(a.name, ("--user-id", "7") if a.name == "user-events" else ())
                                         for a in AUDITS])
def test_loki_mode_paging_and_splitting_give_the_file_modes_rows(capsys, log_file: Path, engine_loki,
                                                                 name: str, extra: tuple[str, ...]) -> None:
    url, seen = engine_loki
    seen.clear()
    from_file = rows(capsys, log_file, name, "--since", "10d", *extra)
    from_loki = rows(capsys, log_file, name, "--since", "10d", "--loki", url, "--page-size", "2",
                     "--max-query-length", "2d", *extra)
    assert from_loki == from_file and from_file
    assert len(seen) > 3  # pages of 2 entries, or 2-day chunks of the 10 days
