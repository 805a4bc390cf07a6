"""`python -m logpipe rules test FILE…`: promtool-style unit tests of Loki rule files."""
import argparse
from pathlib import Path

from logpipe.ruletest.suite import run_files


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `rules` with its `test` subcommand."""
    rules = subparsers.add_parser("rules", help="work with Loki ruler rule files")
    sub = rules.add_subparsers(dest="rules_command", required=True)
    test = sub.add_parser("test", help="run rule unit tests (promtool's format, over LogQL; see logpipe/ruletest/FORMAT.md)")
    test.add_argument("files", nargs="+", type=Path, metavar="FILE", help="rule test files")
    test.set_defaults(handler=_test)


def _test(args: argparse.Namespace) -> int:
    return run_files(args.files)
