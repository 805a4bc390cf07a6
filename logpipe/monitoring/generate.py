"""`python -m logpipe.monitoring.generate [--check]`: write (or check) every generated file.

Generated: the recording and alerting rule files, the runbook, both dashboards, the rule
tests and the README's environment-variable table. `--check` writes nothing and exits 1 listing the files that are stale or missing.
"""
import argparse
import sys
from pathlib import Path

from logpipe.monitoring import config, dashboards, readme, rulefiles, runbook, ruletests


def outputs() -> dict[Path, str]:
    """Every generated file and its expected content."""
    files = {
        config.RECORDING_FILE: rulefiles.recording_rules_yaml(),
        config.ALERTS_FILE: rulefiles.alert_rules_yaml(),
        config.RUNBOOK_FILE: runbook.render(),
        readme.README_FILE: readme.render(),
    }
    for name, build in dashboards.DASHBOARDS.items():
        files[config.DASHBOARD_DIR / name] = dashboards.render(build())
    for name, text in ruletests.render_all().items():
        files[config.RULE_TEST_DIR / name] = text
    return files


def stale(expected: dict[Path, str] | None = None) -> list[Path]:
    """Generated files whose content differs from the definitions, and rule tests or
    dashboards that the definitions no longer generate."""
    expected = outputs() if expected is None else expected
    orphans = [path for folder, pattern in ((config.RULE_TEST_DIR, "*.yaml"),
                                            (config.DASHBOARD_DIR, "*.json"))
               for path in sorted(folder.glob(pattern)) if path not in expected]
    return [path for path, text in expected.items()
            if not path.exists() or path.read_text(encoding="utf-8") != text] + orphans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logpipe.monitoring.generate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing stale generated files")
    args = parser.parse_args(argv)
    expected = outputs()
    paths = stale(expected)
    if args.check:
        for path in paths:
            print(f"stale: {path.relative_to(config.REPO_ROOT)}", file=sys.stderr)
        if paths:
            print("run `python -m logpipe.monitoring.generate` (make generate)", file=sys.stderr)
        return 1 if paths else 0
    for path in paths:
        if path not in expected:
            print(f"{path.relative_to(config.REPO_ROOT)} is no longer generated: delete it",
                  file=sys.stderr)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected[path], encoding="utf-8")
        print(f"wrote {path.relative_to(config.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
