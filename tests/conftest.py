"""Suite-wide rules: in CI (CI=true) a skipped test is a failure, never a silent pass; and the
log guard (tests/support/log_capture.py) watches every test's log lines."""
import os

import pytest

from tests.support.log_capture import log_guard, root_log_capture  # noqa: F401 (autouse fixtures for every test)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") == "true" and skipped:
        reporter.write_line(f"CI=true: {skipped} skipped test(s) count as failures", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
