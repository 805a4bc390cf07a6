"""Faults on the event log file (EVENT_LOG): rotated away mid-traffic (the handler reopens the
path), and its disk full (a 256 KiB tmpfs filled up): the service keeps serving, the loss is
counted and said on stderr, writing resumes when space returns, every event is accounted for."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from app.events.emit import file_write_failures
from tests.app.conftest import AppServer, Browser, events, sim  # noqa: F401

REQUESTS = 20


def status_burst(browser: Browser, count: int) -> list[int]:
    return [browser.get("/api/integrations/basecamp/status/").status_code for _ in range(count)]


def file_lines(*paths: Path) -> tuple[list[str], int]:
    """(valid JSON lines, torn lines) across the files."""
    valid, torn = [], 0
    for path in paths:
        for line in path.read_text().splitlines():
            try:
                json.loads(line)
                valid.append(line)
            except ValueError:
                torn += 1
    return valid, torn


def test_event_log_rotated_away(tmp_path: Path, sim, events, reliability_report) -> None:
    sim.reset()
    server = AppServer(tmp_path, sim, STATUS_CACHE_TTL="0")
    try:
        browser = Browser(server)
        browser.signup()
        browser.connect()
        codes = status_burst(browser, REQUESTS)
        rotated = tmp_path / "events.jsonl.1"
        os.rename(server.event_log, rotated)  # as logrotate's default (create) mode does
        codes += status_burst(browser, REQUESTS)
        emitted = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in events.all()]
        valid, torn = file_lines(rotated, server.event_log)
    finally:
        server.stop()
    passed = codes == [200] * (2 * REQUESTS) and sorted(valid) == sorted(emitted) and not torn
    reliability_report.record(
        "Faults", "event log file rotated away mid-traffic",
        f"events.jsonl renamed after {REQUESTS} of {2 * REQUESTS} status requests",
        "every request 200; the handler reopens events.jsonl; old + new file hold every emitted event",
        f"{codes.count(200)}/{len(codes)} HTTP 200; {len(emitted)} emitted, {len(valid)} in the two files, {torn} torn",
        "none" if sorted(valid) == sorted(emitted) else f"{len(emitted) - len(valid)} events", passed)
    assert passed


@pytest.fixture
def tiny_disk(tmp_path: Path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    assert done.returncode == 0, f"mounting a tmpfs needs root (CAP_SYS_ADMIN): {done.stderr}"
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)  # lazy: the event handler may still hold the file


def fill(disk: Path) -> Path:
    """Write a filler file until the disk is full."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_event_log_disk_full(tmp_path: Path, tiny_disk: Path, sim, events, capsys, reliability_report) -> None:
    sim.reset()
    log = tiny_disk / "events.jsonl"
    server = AppServer(tmp_path, sim, STATUS_CACHE_TTL="0", EVENT_LOG=str(log))
    try:
        browser = Browser(server)
        browser.signup()
        browser.connect()
        filler = fill(tiny_disk)
        full_codes = status_burst(browser, REQUESTS)
        dropped = file_write_failures()
        health = requests.get(server.url + "/healthz", timeout=5).json()["event_log"]["write_failures"]
        notice = capsys.readouterr().err
        filler.unlink()
        codes = full_codes + status_burst(browser, REQUESTS)
        emitted = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in events.all()]
        valid, torn = file_lines(log)
        resumed = emitted[-1] in valid
        dropped = file_write_failures()
    finally:
        server.stop()
    visible = ("fr016: cannot write the event log" in notice and "No space left on device" in notice
               and health > 0)
    accounted = len(valid) + dropped == len(emitted) and set(valid) <= set(emitted)
    passed = codes == [200] * (2 * REQUESTS) and dropped > 0 and visible and accounted and resumed
    reliability_report.record(
        "Faults", "event log disk full (256 KiB tmpfs filled), then space freed",
        f"{REQUESTS} status requests on the full disk, {REQUESTS} after freeing it",
        "every request 200; each lost line counted, said on stderr and on /healthz; writing resumes; "
        "file lines + counted losses = events emitted (stdout has them all)",
        f"{codes.count(200)}/{len(codes)} HTTP 200; stderr {'said' if visible else 'did NOT say'} "
        f"'cannot write the event log ... (No space left on device)', /healthz write_failures {health}; "
        f"{len(emitted)} emitted = {len(valid)} in the file + {dropped} counted lost ({torn} torn line(s)); "
        f"resumed: {resumed}",
        f"{dropped} events missing from the file, all reported (none from stdout)", passed)
    assert passed, notice
