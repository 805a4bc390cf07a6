"""Shared fixtures: the busy-hour scenario as the app's event log and as a log store."""
from pathlib import Path

import pytest

from logpipe.logql import LogStore, parse_time
from logpipe.monitoring import scenarios
from logpipe.monitoring.ruletests import busy_hour_lines

ORIGIN = "2026-12-01T09:00:00Z"
END = "2026-12-01T10:00:00Z"


@pytest.fixture(scope="session")
def busy_hour_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The busy hour (every event type) written as JSON lines from 09:00 UTC."""
    path = tmp_path_factory.mktemp("logs") / "events.jsonl"
    path.write_text(scenarios.jsonl(busy_hour_lines(), parse_time(ORIGIN)), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def busy_hour_store(busy_hour_file: Path) -> LogStore:
    """The busy hour with the stream labels our Vector remap program sets."""
    store = LogStore.from_jsonl(busy_hour_file)
    assert not store.skipped
    return store
