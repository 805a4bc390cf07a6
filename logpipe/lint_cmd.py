"""`python -m logpipe lint [PATH…]`: every LogQL expression in the repo must pass our parser and Grafana's."""
import argparse
import sys
from pathlib import Path

from logpipe.lint import lezer
from logpipe.lint.discover import discover
from logpipe.logql import LogQLError, parse

REPO_ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `lint` subcommand."""
    lint = subparsers.add_parser(
        "lint", help="check every LogQL expression with logpipe's parser and Grafana's @grafana/lezer-logql")
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                      help="files or folders to search (default: the repository root)")
    lint.set_defaults(handler=_lint)


def _ours(expr: str) -> str | None:
    """None when our parser accepts expr, else its message."""
    try:
        parse(expr)
    except LogQLError as exc:
        return str(exc)
    return None


def _lint(args: argparse.Namespace) -> int:
    paths = args.paths or [REPO_ROOT]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"lint: no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return EXIT_SETUP
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    found, problems = discover(paths, REPO_ROOT)
    unique = sorted({f.expr for f in found})
    try:
        grafana = dict(zip(unique, lezer.check(unique))) if unique else {}
    except lezer.LezerUnavailable as exc:
        print(f"lint: cannot check with Grafana's grammar: {exc}", file=sys.stderr)
        return EXIT_SETUP
    ours = {expr: _ours(expr) for expr in unique}
    failed = 0
    for problem in problems:
        print(f"{problem.file}: {problem.message}", file=sys.stderr)
    for item in found:
        mine, theirs = ours[item.expr], grafana[item.expr]
        if mine is None and theirs.ok:
            continue
        failed += 1
        print(f"{item.file}: {item.where}\n    expr: {item.expr}\n"
              f"    logpipe: {mine or 'accepted'}\n    grafana: {theirs}", file=sys.stderr)
    files = len({f.file for f in found})
    if failed or problems:
        print(f"lint: FAILED: {failed} of {len(found)} LogQL expressions rejected"
              + (f", {len(problems)} file(s) unreadable" if problems else ""))
        return EXIT_FAILED
    print(f"lint: {len(found)} LogQL expressions in {files} files pass logpipe's parser and Grafana's lezer-logql")
    return EXIT_OK
