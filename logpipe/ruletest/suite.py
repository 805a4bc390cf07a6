"""`rules test` over test files: promtool's per-file output, a closing tally and the exit code."""
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from logpipe.ruletest.errors import ConfigError
from logpipe.ruletest.rulefile import Group, load_rule_file
from logpipe.ruletest.runner import GroupRun
from logpipe.ruletest.testfile import load_test_file

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


@dataclass
class FileOutcome:
    """What one test file gave: passed and failed case counts, promtool-formatted failures."""

    passed: int
    failed: int
    failures: list[str]
    invalid: bool = False


def run_file(path: Path) -> FileOutcome:
    """Load a test file and its rule files, run every test group; an invalid file is one failure."""
    try:
        spec = load_test_file(path)
        groups: list[Group] = [g for rule_file in spec.rule_files for g in load_rule_file(rule_file)]
        runs = [GroupRun(test, groups, spec.evaluation_interval_ns, f"{path}: tests[{i}]")
                for i, test in enumerate(spec.tests)]
    except ConfigError as exc:
        return FileOutcome(0, 1, [str(exc)], invalid=True)
    outcome = FileOutcome(0, 0, [])
    for run in runs:
        result = run.run()
        outcome.passed += result.passed
        outcome.failed += run.test.test_count - result.passed
        outcome.failures.extend(result.failures)
    return outcome


def run_files(paths: list[Path], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run each file as `promtool test rules` does, print the tally and return the exit code."""
    passed = failed = 0
    invalid = False
    for path in paths:
        print("Unit Testing: ", path, file=out, flush=True)
        outcome = run_file(path)
        passed, failed, invalid = passed + outcome.passed, failed + outcome.failed, invalid or outcome.invalid
        if outcome.failures:
            print("  FAILED:", file=err, flush=True)
            for failure in outcome.failures:
                print(failure, file=err, flush=True)
                print(file=out, flush=True)
        else:
            print("  SUCCESS", file=out)
        print(file=out, flush=True)
    verdict = "FAILED" if failed or invalid else "SUCCESS"
    print(f"{verdict}: {passed} passed, {failed} failed", file=out, flush=True)
    if invalid:
        return EXIT_INVALID
    return EXIT_FAILED if failed else EXIT_OK
