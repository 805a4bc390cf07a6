"""`python -m logpipe rules test` end to end: exit codes and promtool's output, over the fixtures."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path("tests/logpipe/fixtures/ruletest")


def run(*files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logpipe", "rules", "test", *files], cwd=REPO,
                          capture_output=True, text=True, check=False)


def test_passing_file_exits_0_with_summary() -> None:
    proc = run(str(FIXTURES / "good.test.yml"))
    assert proc.stderr == ""
    assert proc.stdout == (f"Unit Testing:  {FIXTURES / 'good.test.yml'}\n  SUCCESS\n\n"
                           "SUCCESS: 12 passed, 0 failed\n")
    assert proc.returncode == 0


BAD_FAILURES = '''  FAILED:
    name: wrong expectations,
    alertname: TokenRefreshFailing, time: 3m, 
        exp:[
            0:
              Labels:{alertname="TokenRefreshFailing", env="prod", severity="critical"}
              Annotations:{}
            ], 
        got:[]
    expr: "basecamp:token_refresh_failures:count5m", time: 4m,
        exp: {__name__="basecamp:token_refresh_failures:count5m", env="prod", team="integrations"} 5.00001E+00
        got: {__name__="basecamp:token_refresh_failures:count5m", env="prod", team="integrations"} 5E+00
'''


def test_failing_file_prints_promtools_report_and_exits_1() -> None:
    proc = run(str(FIXTURES / "good.test.yml"), str(FIXTURES / "bad.test.yml"))
    assert proc.stderr == BAD_FAILURES  # failures go to stderr, as promtool writes them
    assert proc.stdout == (f"Unit Testing:  {FIXTURES / 'good.test.yml'}\n  SUCCESS\n\n"
                           f"Unit Testing:  {FIXTURES / 'bad.test.yml'}\n\n\n\n"
                           "FAILED: 13 passed, 2 failed\n")
    assert proc.returncode == 1


def test_unreadable_file_exits_2() -> None:
    proc = run(str(FIXTURES / "good.test.yml"), "no/such/test.yml")
    assert "  FAILED:\nno/such/test.yml: cannot read: " in proc.stderr
    assert proc.stdout.endswith("FAILED: 12 passed, 1 failed\n")
    assert proc.returncode == 2
