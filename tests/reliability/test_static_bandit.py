"""`bandit` over app/ and logpipe/ is clean: every finding is fixed, or marked inline with
`# nosec BXXX - reason` where it is a false positive."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

AREA = "Attack and bad input"
ROOT = Path(__file__).resolve().parents[2]
# Skipped everywhere, with the reason: B404 only notes that `subprocess` is imported, and B603 flags every
# call *without* a shell, the safe argv form; the checks for shell use (B602, B605, B607, ...) stay on.
SKIPPED = "B404,B603"
_NOSEC = re.compile(r"#\s*nosec\b(.*)")
_JUSTIFIED = re.compile(r"^\s+B\d{3}(,\s*B\d{3})*\s+-\s+\S")  # "# nosec B105 - why it is safe"


def _bare_nosec() -> list[str]:
    """`# nosec` markers without test ids and a reason."""
    bare = []
    for path in sorted([*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("logpipe").rglob("*.py")]):
        if "node_modules" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = _NOSEC.search(line)
            if match and not _JUSTIFIED.match(match.group(1)):
                bare.append(f"{path.relative_to(ROOT)}:{number}")
    return bare


def test_bandit_is_clean(reliability_report) -> None:
    done = subprocess.run([sys.executable, "-m", "bandit", "-r", "app", "logpipe", "-x", "logpipe/lint/node_modules",
                           "-s", SKIPPED, "-f", "json", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    report = json.loads(done.stdout)
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text'][:60]}" for r in report["results"]]
    scanned = report["metrics"]["_totals"]["loc"]
    nosec = report["metrics"]["_totals"]["nosec"] + report["metrics"]["_totals"].get("skipped_tests", 0)
    bare = _bare_nosec()
    passed = done.returncode == 0 and not findings and not report["errors"] and not bare
    reliability_report.record(
        AREA, "bandit over app/ and logpipe/", f"{scanned} lines of code, all checks but {SKIPPED} (see test)",
        "no finding; every `# nosec` carries its reason",
        f"{len(findings)} finding(s){': ' + '; '.join(findings[:4]) + ' …' if findings else ''}; "
        f"{nosec} nosec, {len(bare)} without a reason{' (' + ', '.join(bare[:3]) + ')' if bare else ''}; "
        f"errors: {len(report['errors'])}", "none", passed)
    assert passed, "\n".join(findings + [f"{b}: # nosec without 'BXXX - reason'" for b in bare]) or report["errors"]
