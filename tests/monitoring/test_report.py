"""`python -m logpipe report` over the busy hour: the targets table and the alerts firing."""
import subprocess
import sys
from pathlib import Path

from logpipe.monitoring.ruletests import BUSY_HOUR, prom_quantile

from .conftest import END

ROOT = Path(__file__).resolve().parents[2]


def _report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logpipe", "report", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_targets_table_and_firing_alerts(busy_hour_file: Path) -> None:
    result = _report("--logs", str(busy_hour_file), "--time", END)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    b = BUSY_HOUR
    total, _, expired = b["health"][-1]
    rate = 100 * b["refresh_ok"] / (b["refresh_ok"] + b["refresh_failed"])  # 90: < 95, not < 90
    completion = 100 * len(b["flow_seconds"]) / b["initiates"]  # 80: < 85
    flow = prom_quantile(b["flow_seconds"], 0.95)  # 76.5 s: under 120
    status = prom_quantile(b["status_ms"], 0.95)  # 955 ms: under 1000
    rows = [
        f"| Token Refresh Success Rate | {rate:.1f}% | ≥ 95% | < 95% (WARNING), < 90% (CRITICAL) | WARNING |",
        f"| OAuth Completion Rate | {completion:.1f}% | ≥ 90% | < 90% (WARNING), < 85% (CRITICAL) | CRITICAL |",
        f"| OAuth Flow Duration (P95) | {flow:.1f} s | ≤ 120 s | > 120 s (WARNING), > 180 s (CRITICAL) | OK |",
        f"| Status Check Time (P95) | {status:.0f} ms | ≤ 1000 ms | > 1000 ms (WARNING), > 2000 ms (CRITICAL) | OK |",
        f"| Rate Limit Hits (1h) | {b['api_429']} | 0 | > 0 (WARNING), ≥ 10 (CRITICAL) | WARNING |",
        f"| Expired Accounts | {100 * expired / total:.1f}% | ≤ 5% | > 5% (WARNING), > 10% (CRITICAL) | WARNING |",
    ]
    for row in rows:
        assert row in out.splitlines(), row
    alerts = out.split("Alerts firing: ")[1].splitlines()
    # 3 of 9 API attempts were 429s (33% > 25%); expired accounts reached 7.5% only in the last
    # snapshot, 5 minutes ago, so BasecampExpiredAccountsHigh is still pending (for: 15m).
    assert alerts[0] == "6"
    assert [line.split(":")[0].split() for line in alerts[1:]] == [
        ["CRITICAL", 'BasecampErrorRateHigh{error_type="rate_limited",', 'event="basecamp_api_request"}'],
        ["CRITICAL", "BasecampOAuthCompletionRateLow"],
        ["WARNING", 'BasecampErrorRateHigh{error_type="rate_limited",', 'event="basecamp_api_request"}'],
        ["WARNING", "BasecampOAuthCompletionRateLow"],
        ["WARNING", "BasecampRateLimited"],
        ["WARNING", "BasecampTokenRefreshSuccessRateLow"],
    ]


def test_default_time_is_the_latest_line_and_recorded_metrics_are_listed(busy_hour_file) -> None:
    result = _report("--logs", str(busy_hour_file))
    assert result.returncode == 0, result.stderr
    # the latest line is the last account_health snapshot, at 55m5s
    assert "Performance Targets Summary at 2026-12-01T09:55:05Z" in result.stdout
    assert f"  basecamp_disconnection_rate {BUSY_HOUR['disconnects']}" in result.stdout
    assert '  basecamp_oauth_flow_duration_seconds{quantile="0.95"} 76.5' in result.stdout


def test_no_data_rows_on_an_empty_period(busy_hour_file: Path) -> None:
    result = _report("--logs", str(busy_hour_file), "--time", "2026-12-03T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert "| Token Refresh Success Rate | no data | ≥ 95% |" in result.stdout
    assert "| Rate Limit Hits (1h) | 0 | 0 | > 0 (WARNING), ≥ 10 (CRITICAL) | OK |" in result.stdout
    assert "Alerts firing: 0" in result.stdout


def test_unreadable_log_file_is_a_usage_error(tmp_path: Path) -> None:
    result = _report("--logs", str(tmp_path / "missing.jsonl"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr
