"""`python -m logpipe audit --loki`: Loki's HTTP API (`/loki/api/v1/query_range`) against a local stub.

The stub (http.server on 127.0.0.1) records every request and answers in the shapes Loki's HTTP API
reference documents: `{"status": "success", "data": {"resultType": "streams" | "matrix", "result": […]}}`,
stream values `["<ns>", "<line>"]`, matrix values `[<unix seconds, ms precision>, "<value>"]`, and
plain-text bodies on errors. For log queries it applies Loki's semantics: entries with
start <= ts < end, newest first (`direction=backward`), at most `limit` across streams.
"""
from __future__ import annotations

import calendar
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from logpipe.__main__ import main as logpipe_main
from logpipe.audit.catalogue import LOGQL_QUERIES
from logpipe.audit.loki import LokiClient, LokiError

NS = 10**9
HOUR = 3600 * NS
DAY = 24 * HOUR
UNTIL = "2026-11-30T12:00:00Z"
T = calendar.timegm((2026, 11, 30, 12, 0, 0)) * NS
LABELS = {"app": "basecamp-integration", "env": "dev", "level": "ERROR", "event": "basecamp_token_refresh"}


def iso(ts_ns: int) -> str:
    """RFC 3339 with nanoseconds, as an FR-016 `timestamp` may carry them."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ns // NS)) + f".{ts_ns % NS:09d}Z"


def refresh_failure(ts_ns: int, user_id: int | None, error: str = "invalid_grant") -> str:
    """One complete FR-016 `basecamp_token_refresh` failure line."""
    return json.dumps({
        "timestamp": iso(ts_ns), "level": "ERROR", "event": "basecamp_token_refresh",
        "user_id": user_id, "account_id": None if user_id is None else str(1000 + user_id),
        "status": "failure", "duration_ms": 12.5, "error": error, "error_type": "invalid_grant",
        "message": "Basecamp token refresh failed",
        "metadata": {"attempt": 1, "max_retries": 3, "http_status": 400}})


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Stub:
    """A Loki stand-in: `answer(params)` gives (HTTP status, body); every request is recorded."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    answer: Callable[[dict[str, str]], tuple[int, Any]] = lambda params: (404, "not set")
    delay: float = 0.0

    def serve_logs(self, entries: list[tuple[int, dict[str, str], str]]) -> None:
        """Answer log queries from `entries` (ts_ns, stream labels, line) the way Loki does."""
        def answer(params: dict[str, str]) -> tuple[int, Any]:
            assert params["direction"] == "backward"
            start, end, limit = int(params["start"]), int(params["end"]), int(params["limit"])
            hits = sorted((e for e in entries if start <= e[0] < end), key=lambda e: e[0], reverse=True)[:limit]
            streams: dict[tuple, dict[str, Any]] = {}
            for ts, labels, line in hits:
                key = tuple(sorted(labels.items()))
                streams.setdefault(key, {"stream": labels, "values": []})["values"].append([str(ts), line])
            return 200, success("streams", list(streams.values()))
        self.answer = answer


def success(result_type: str, result: list) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": result_type, "result": result,
                                          "stats": {"summary": {"execTime": 0.001}}}}


@pytest.fixture
def loki():
    stub = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            stub.requests.append(Request(url.path, params, dict(self.headers)))
            time.sleep(stub.delay)
            status, body = stub.answer(params)
            text = body if isinstance(body, str) else json.dumps(body)
            payload = text.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8" if isinstance(body, str)
                                 else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_port}"
    yield stub
    server.shutdown()
    server.server_close()
    thread.join()


def audit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `python -m logpipe audit ARGV…` in-process: (exit code, stdout, stderr)."""
    code = logpipe_main(["audit", *argv])
    return (code, *capsys.readouterr())


# --- Log queries: parameters, parsing, paging ---------------------------------------------------

def test_log_audit_sends_loki_parameters_and_tenant(loki: Stub, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [(T - 3 * HOUR, refresh_failure(T - 3 * HOUR, 7, "Token has been revoked")),
             (T - 1 * HOUR, refresh_failure(T - 1 * HOUR, None, "refresh token missing")),
             (T - 2 * HOUR, refresh_failure(T - 2 * HOUR, 9))]
    loki.serve_logs([(ts, LABELS, line) for ts, line in lines])
    code, out, err = audit(capsys, "recent-refresh-failures", "--loki", loki.url + "/", "--tenant", "acme",
                           "--until", UNTIL, "--format", "json")
    assert (code, err) == (0, "")
    (request,) = loki.requests
    assert request.path == "/loki/api/v1/query_range"
    assert request.params == {"query": LOGQL_QUERIES["recent-refresh-failures"], "start": str(T - 7 * DAY),
                              "end": str(T), "limit": "50", "direction": "backward"}
    assert request.headers["X-Scope-OrgID"] == "acme"
    assert json.loads(out) == [
        {"timestamp": iso(T - HOUR), "user_id": None, "account_id": None, "error": "refresh token missing"},
        {"timestamp": iso(T - 2 * HOUR), "user_id": 9, "account_id": "1009", "error": "invalid_grant"},
        {"timestamp": iso(T - 3 * HOUR), "user_id": 7, "account_id": "1007", "error": "Token has been revoked"},
    ]


def test_no_tenant_no_header_and_since_until_in_unix_seconds(loki: Stub, capsys) -> None:
    loki.serve_logs([])
    code, out, _ = audit(capsys, "failed-connections", "--loki", loki.url, "--since", "90m",
                         "--until", str(T // NS), "--limit", "7")
    assert code == 0
    (request,) = loki.requests
    assert "X-Scope-OrgID" not in request.headers
    assert (request.params["start"], request.params["end"], request.params["limit"]) == (
        str(T - 90 * 60 * NS), str(T), "7")
    assert out == "timestamp  user_id  error_type  error\n---------  -------  ----------  -----\n(no rows)\n"


def test_user_events_filters_user_id_after_json(loki: Stub, capsys) -> None:
    loki.serve_logs([])
    assert audit(capsys, "user-events", "--loki", loki.url, "--user-id", "42", "--until", UNTIL)[0] == 0
    assert loki.requests[0].params["query"] == \
        '{app="basecamp-integration"} | json user_id="user_id" | user_id="42"'
    assert loki.requests[0].params["limit"] == "500"


def test_full_pages_continue_by_time_without_duplicates_or_gaps(loki: Stub) -> None:
    # Ten entries over two streams; e7 and e8 share one nanosecond, which a page boundary cuts.
    stamps = [T - (11 - i) * 60 * NS for i in range(1, 11)]
    stamps[6] = stamps[7]
    entries = [(ts, {**LABELS, "level": "ERROR" if i % 2 else "WARNING"}, refresh_failure(ts, i))
               for i, ts in enumerate(stamps, 1)]
    loki.serve_logs(entries)
    got = LokiClient(loki.url, page_size=3).logs("{q}", T - DAY, T, 8)
    expected = sorted(entries, key=lambda e: e[0], reverse=True)[:8]
    assert [(e.ts_ns, e.line) for e in got] == [(ts, line) for ts, _, line in expected]
    assert len({e.line for e in got}) == 8
    # Next end = oldest timestamp seen + 1 ns (end is exclusive); limit grows by the boundary duplicates.
    assert [(r.params["end"], r.params["limit"]) for r in loki.requests] == [
        (str(T), "3"), (str(stamps[7] + 1), "3"), (str(stamps[5] + 1), "3"), (str(stamps[3] + 1), "2")]
    assert {r.params["start"] for r in loki.requests} == {str(T - DAY)}


def test_paging_stops_on_a_short_page(loki: Stub) -> None:
    entries = [(T - i * NS, LABELS, refresh_failure(T - i * NS, i)) for i in range(1, 6)]
    loki.serve_logs(entries)
    got = LokiClient(loki.url, page_size=2).logs("{q}", T - HOUR, T, 50)
    assert [e.ts_ns for e in got] == [T - i * NS for i in range(1, 6)]
    # Each later page repeats the boundary entry, so a page of 2 brings 1 new entry; the last one is short.
    assert [r.params["limit"] for r in loki.requests] == ["2"] * 5
    assert [r.params["end"] for r in loki.requests] == [str(T)] + [str(T - i * NS + 1) for i in (2, 3, 4, 5)]


def test_more_entries_in_one_nanosecond_than_a_page_is_an_error(loki: Stub) -> None:
    loki.serve_logs([(T - NS, LABELS, refresh_failure(T - NS, i)) for i in range(1, 4)])
    with pytest.raises(LokiError, match="a page of 2 entries all share timestamp"):
        LokiClient(loki.url, page_size=2).logs("{q}", T - HOUR, T, 10)


def test_log_range_longer_than_max_query_length_is_split(loki: Stub) -> None:
    entries = [(T - d * DAY - HOUR, LABELS, refresh_failure(T - d * DAY - HOUR, d + 1)) for d in range(5)]
    loki.serve_logs(entries)
    got = LokiClient(loki.url, max_query_length_ns=2 * DAY).logs("{q}", T - 5 * DAY, T, 100)
    assert [e.ts_ns for e in got] == [ts for ts, _, _ in entries]
    assert [(int(r.params["start"]), int(r.params["end"])) for r in loki.requests] == [
        (T - 2 * DAY, T), (T - 4 * DAY, T - 2 * DAY), (T - 5 * DAY, T - 4 * DAY)]


# --- Metric queries: day/hour buckets, step grid, splitting ------------------------------------

def matrix_point(ts_ns: int, value: int) -> list:
    """A matrix value as Loki writes it: Unix seconds with millisecond precision, value as a string."""
    return [ts_ns // 10**6 / 1000, str(value)]


def test_connection_success_by_day_evaluates_at_the_last_nanosecond_of_each_utc_day(loki: Stub, capsys) -> None:
    day0 = calendar.timegm((2026, 11, 27, 0, 0, 0)) * NS  # --since 3d from 2026-11-30T12:00Z starts on the 27th
    ends = [day0 + (d + 1) * DAY - 1 for d in range(4)]  # 27th … 30th
    loki.answer = lambda params: (200, success("matrix", [
        {"metric": {"status": "success"}, "values": [matrix_point(ends[0], 2), matrix_point(ends[2], 1),
                                                     matrix_point(ends[3], 7)]},
        {"metric": {"status": "failure"}, "values": [matrix_point(ends[0], 1), matrix_point(ends[1], 4),
                                                     matrix_point(ends[3], 1)]}]))
    code, out, err = audit(capsys, "connection-success-by-day", "--loki", loki.url, "--since", "3d",
                           "--until", UNTIL, "--format", "csv")
    assert (code, err) == (0, "")
    (request,) = loki.requests
    assert request.params == {"query": LOGQL_QUERIES["connection-success-by-day"],
                              "start": str(ends[0]), "end": str(ends[3]), "step": "86400"}
    assert out.splitlines() == ["date,total,successful,success_rate", "2026-11-30,8,7,87.50",
                                "2026-11-29,1,1,100.00", "2026-11-28,4,0,0.00", "2026-11-27,3,2,66.67"]


def test_metric_range_is_split_on_the_step_grid_within_max_query_length(loki: Stub, capsys) -> None:
    until = calendar.timegm((2026, 11, 30, 0, 0, 0)) * NS

    def answer(params: dict[str, str]) -> tuple[int, Any]:
        start, end = int(params["start"]), int(params["end"])
        # hits = the bucket's hour of day; hour 0 has none, so no sample (count_over_time gives none)
        points = [matrix_point(t, (t + 1 - HOUR) // HOUR % 24) for t in range(start, end + 1, HOUR)
                  if (t + 1 - HOUR) // HOUR % 24]
        return 200, success("matrix", [{"metric": {}, "values": points}])
    loki.answer = answer
    code, out, _ = audit(capsys, "rate-limit-hits-by-hour", "--loki", loki.url, "--since", "3d",
                         "--until", str(until // NS), "--max-query-length", "1d", "--format", "json")
    assert code == 0
    first = until - 3 * DAY + HOUR - 1
    # 1d max length minus the 1h range selector leaves 23h: 24 hourly points per request.
    assert [(int(r.params["start"]), int(r.params["end"]), r.params["step"]) for r in loki.requests] == [
        (first + k * DAY, first + k * DAY + 23 * HOUR, "3600") for k in range(3)]
    rows = json.loads(out)
    assert len(rows) == 69
    assert rows[0] == {"hour": "2026-11-29T23:00:00Z", "hits": 23}
    assert rows[-1] == {"hour": "2026-11-27T01:00:00Z", "hits": 1}


def test_samples_off_the_requested_grid_are_refused(loki: Stub, capsys) -> None:
    # As if Loki aligned start to the step (align_queries_with_step): midnight, not the day's last ns.
    midnight = calendar.timegm((2026, 11, 30, 0, 0, 0)) * NS
    loki.answer = lambda params: (200, success("matrix", [
        {"metric": {"status": "success"}, "values": [matrix_point(midnight, 1)]}]))
    code, _, err = audit(capsys, "connection-success-by-day", "--loki", loki.url, "--until", UNTIL)
    assert code == 1
    assert "not on the requested step grid" in err


# --- Errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, body", [
    (500, "rpc error: code = Unavailable desc = too many outstanding requests"),
    (400, 'parse error at line 1, col 33: syntax error: unexpected IDENTIFIER, expecting STRING'),
])
def test_http_errors_show_lokis_text_body(loki: Stub, capsys, status: int, body: str) -> None:
    loki.answer = lambda params: (status, body + "\n")
    code, out, err = audit(capsys, "failed-connections", "--loki", loki.url, "--until", UNTIL)
    assert (code, out) == (1, "")
    assert err == f"audit failed-connections: Loki answered HTTP {status}: {body}\n"


def test_answers_that_are_not_loki_success_json_fail(loki: Stub, capsys) -> None:
    loki.answer = lambda params: (200, {"status": "error", "error": "boom"})
    assert audit(capsys, "failed-connections", "--loki", loki.url)[0] == 1
    loki.answer = lambda params: (200, success("matrix", []))  # a log query must answer streams
    code, _, err = audit(capsys, "failed-connections", "--loki", loki.url)
    assert code == 1 and "expected resultType 'streams', got 'matrix'" in err


def test_connection_refused(capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = audit(capsys, "failed-connections", "--loki", f"http://127.0.0.1:{port}")
    assert code == 1
    assert err == f"audit failed-connections: cannot connect to Loki at http://127.0.0.1:{port}: connection refused\n"


def test_timeout(loki: Stub, capsys) -> None:
    loki.delay = 0.5
    loki.serve_logs([])
    code, _, err = audit(capsys, "failed-connections", "--loki", loki.url, "--timeout", "0.1")
    assert code == 1
    assert err == f"audit failed-connections: Loki at {loki.url} did not answer within 0.1s\n"


def test_source_options_must_match_the_source(capsys, tmp_path) -> None:
    code, _, err = audit(capsys, "failed-connections", "--logs", str(tmp_path / "x.jsonl"), "--tenant", "a")
    assert code == 2 and "--tenant with --loki" in err
    code, _, err = audit(capsys, "failed-connections", "--loki", "http://127.0.0.1:9", "--labels", '{a="b"}')
    assert code == 2 and "--labels goes with --logs" in err


@pytest.mark.parametrize("argv", [("--since", "0s"), ("--since", "soon"), ("--until", "tomorrow"),
                                  ("--page-size", "1"), ("--limit", "0"), ()])
def test_bad_arguments_exit_2(capsys, argv: tuple[str, ...]) -> None:
    source = () if not argv else ("--loki", "http://127.0.0.1:9")
    with pytest.raises(SystemExit) as exc:
        audit(capsys, "failed-connections", *source, *argv)
    assert exc.value.code == 2
