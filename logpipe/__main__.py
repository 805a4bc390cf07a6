"""`python -m logpipe <command>`: query, rules test, lint, report, audit."""
import argparse
import sys

from logpipe import audit_cmd, lint_cmd, query_cmd, report_cmd, rules_cmd

COMMANDS = (query_cmd, rules_cmd, lint_cmd, report_cmd, audit_cmd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logpipe")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
