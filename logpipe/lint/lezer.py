"""Runs Grafana's LogQL grammar (@grafana/lezer-logql, via check.mjs under Node.js) on expressions."""
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LINT_DIR = Path(__file__).resolve().parent
SCRIPT = LINT_DIR / "check.mjs"
PACKAGE = LINT_DIR / "node_modules" / "@grafana" / "lezer-logql" / "package.json"
INSTALL_HINT = "run `make node-deps` (or `cd logpipe/lint && npm ci`)"


class LezerUnavailable(Exception):
    """Node.js or the npm packages are missing, or the checker failed: the lint cannot run."""


@dataclass(frozen=True)
class Verdict:
    """Grafana's verdict on one expression; line/col/near locate the first error node."""

    ok: bool
    line: int = 0
    col: int = 0
    near: str = ""

    def __str__(self) -> str:
        if self.ok:
            return "accepted"
        return f"rejected at line {self.line}, col {self.col}" + (f" (near {self.near!r})" if self.near else "")


def check(exprs: list[str], package: Path | None = None) -> list[Verdict]:
    """One Node.js process parses all expressions; raises LezerUnavailable with what to do."""
    node = shutil.which("node")
    if not node:
        raise LezerUnavailable("Node.js (`node`) is not installed; it runs Grafana's LogQL grammar. "
                               "Install Node.js 20+, then " + INSTALL_HINT)
    package = package or PACKAGE
    if not package.is_file():
        raise LezerUnavailable(f"@grafana/lezer-logql is not installed in {LINT_DIR / 'node_modules'}; "
                               + INSTALL_HINT)
    try:
        proc = subprocess.run([node, str(SCRIPT)], input=json.dumps(exprs), capture_output=True,
                              text=True, cwd=LINT_DIR, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LezerUnavailable(f"running {SCRIPT.name} failed: {exc}") from None
    if proc.returncode != 0:
        raise LezerUnavailable(f"{SCRIPT.name} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    try:
        raw = json.loads(proc.stdout)
        verdicts = [Verdict(r["ok"], r.get("line", 0), r.get("col", 0), r.get("near", "")) for r in raw]
    except (ValueError, KeyError, TypeError) as exc:
        raise LezerUnavailable(f"{SCRIPT.name} gave unreadable output: {exc}") from None
    if len(verdicts) != len(exprs):
        raise LezerUnavailable(f"{SCRIPT.name} answered {len(verdicts)} verdicts for {len(exprs)} expressions")
    return verdicts
