"""`query` command end to end in a subprocess: Loki's response JSON, exit codes, no tracebacks."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABELS = '{app="basecamp-integration",env="dev"}'


def record(ts: str, event: str, status: str) -> str:
    return json.dumps({
        "timestamp": ts, "level": "INFO" if status == "success" else "ERROR", "event": event, "user_id": 1,
        "account_id": "42", "status": status, "duration_ms": 12.5, "error": None, "error_type": None,
        "message": "m", "metadata": {"attempt": 1, "max_retries": 3, "http_status": 200}})


@pytest.fixture
def logs(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        record("2026-01-01T00:00:10Z", "basecamp_token_refresh", "success"),
        record("2026-01-01T00:00:20.250Z", "basecamp_token_refresh", "failure"),
        record("2026-01-01T00:01:30Z", "basecamp_api_request", "success"),
    ]) + "\n")
    return path


def query(*args: str) -> subprocess.CompletedProcess:
    """`python -m logpipe query ARGS`."""
    return subprocess.run([sys.executable, "-m", "logpipe", "query", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_instant_vector(logs):
    """Loki HTTP API /loki/api/v1/query: {"status":"success","data":{"resultType":"vector",...}}."""
    out = query("--logs", str(logs), "--labels", LABELS, "--time", "2026-01-01T00:01:00Z",
                'sum by (status) (count_over_time({app="basecamp-integration"} | json [1m]))')
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"status": "failure"}, "value": [1767225660, "1"]},
        {"metric": {"status": "success"}, "value": [1767225660, "1"]}]}}


def test_range_matrix_with_unix_times(logs):
    """Loki HTTP API /loki/api/v1/query_range: a matrix; --start/--end accept Unix seconds."""
    out = query("--logs", str(logs), "--labels", LABELS, "--start", "1767225600", "--end", "1767225720",
                "--step", "1m", 'sum(count_over_time({app="basecamp-integration"}[1m]))')
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["data"] == {"resultType": "matrix", "result": [
        {"metric": {}, "values": [[1767225660, "2"], [1767225720, "1"]]}]}


def test_log_query_streams(logs):
    """Loki HTTP API: a log query returns streams, newest first, with nanosecond string timestamps."""
    out = query("--logs", str(logs), "--labels", LABELS, "--time", "1767225700", "--limit", "1",
                '{app="basecamp-integration"} |= "api_request"')
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)["data"]
    assert data["resultType"] == "streams"
    assert data["result"][0]["stream"] == {"app": "basecamp-integration", "env": "dev"}
    assert data["result"][0]["values"][0][0] == "1767225690000000000"


@pytest.mark.parametrize("text, exit_code, start", [
    ('sum(count_over_time({app="x"}[1m])', 2, "parse error at line 1, col 35:"),
    ('{app="x"} | pattern "<_>"', 2, "unsupported LogQL: "),
    ('sum_over_time({app="basecamp-integration"} | json | unwrap message [5m])', 1, "logpipe query: pipeline error:"),
])
def test_errors_exit_codes_and_no_traceback(logs, text, exit_code, start):
    """Issue 3: syntax and unsupported -> exit 2 with the position / `unsupported LogQL: `; an evaluation
    error Loki reports (non-numeric unwrap) -> exit 1; never a Python traceback."""
    out = query("--logs", str(logs), "--labels", LABELS, "--time", "1767225700", text)
    assert out.returncode == exit_code
    assert out.stderr.startswith(start)
    assert "Traceback" not in out.stderr and out.stdout == ""


@pytest.mark.parametrize("args", [
    ["--labels", "{app=}"], ["--labels", LABELS, "--start", "1767225600"], ["--labels", LABELS, "--time", "yesterday"],
])
def test_bad_arguments_exit_2(logs, args):
    """Usage errors (bad --labels, half a range, bad time) exit 2 with a message."""
    out = query("--logs", str(logs), *args, 'count_over_time({app="x"}[1m])')
    assert out.returncode == 2 and out.stderr and "Traceback" not in out.stderr


def test_missing_file_and_skipped_lines(tmp_path, logs):
    """A missing file exits 2; lines that cannot be ingested are counted on stderr, not silently dropped."""
    out = query("--logs", str(tmp_path / "nope.jsonl"), "--labels", LABELS, "--time", "0", 'count_over_time({app="x"}[1m])')
    assert out.returncode == 2 and "cannot read" in out.stderr
    logs.write_text(logs.read_text() + "not json\n")
    out = query("--logs", str(logs), "--labels", LABELS, "--time", "1767225700",
                'count_over_time({app="basecamp-integration"}[5m])')
    assert out.returncode == 0
    assert "1 line(s) not ingested: line 4: not a JSON object" in out.stderr
    assert json.loads(out.stdout)["data"]["result"][0]["value"][1] == "3"


def test_without_labels_the_vector_remap_program_sets_stream_labels(logs):
    """Issue 3: without --labels each line's stream labels are those our Vector remap program sets
    (app, env, level, event); a line it dead-letters is reported on stderr."""
    logs.write_text(logs.read_text() + '{"timestamp":"2026-01-01T00:00:30Z"}\n')
    out = query("--logs", str(logs), "--time", "2026-01-01T00:01:00Z",
                'count_over_time({app="basecamp-integration"}[1m])')
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["data"]["result"]
    assert [(r["metric"]["level"], r["metric"]["event"], r["value"][1]) for r in result] == [
        ("ERROR", "basecamp_token_refresh", "1"), ("INFO", "basecamp_token_refresh", "1")]
    assert "1 line(s) not ingested: line 4: dead-lettered by the remap program" in out.stderr
