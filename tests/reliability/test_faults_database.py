"""Fault: the SQLite database write-locked by another connection while users read and write.
WAL lets reads through; writes wait on the busy timeout (30 s) and complete once the lock goes."""
from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.app.conftest import AppServer, Browser, csrf_token, sim  # noqa: F401
from tests.support.conn import stored

HOLD_S = 3.0


def hold_write_lock(path: str, held: threading.Event, seconds: float) -> None:
    lock = sqlite3.connect(path, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        lock.execute("COMMIT")
    finally:
        lock.close()


def timed(call) -> tuple[int, float]:
    started = time.monotonic()
    status = call().status_code
    return status, time.monotonic() - started


def test_sqlite_write_locked(tmp_path: Path, sim, reliability_report) -> None:
    sim.reset()
    server = AppServer(tmp_path, sim, STATUS_CACHE_TTL="0")
    try:
        reader, leaver, newcomer = Browser(server), Browser(server), Browser(server)
        for browser in (reader, leaver):
            browser.signup()
            assert browser.connect().status_code == 200
        before = stored(server.db_url, reader.email)
        leave_page = leaver.get("/integrations/basecamp/").text
        held = threading.Event()
        locker = threading.Thread(target=hold_write_lock, args=(server.db_url.removeprefix("sqlite:///"), held, HOLD_S))
        locked_at = time.monotonic()
        locker.start()
        assert held.wait(5)
        with ThreadPoolExecutor(3) as pool:
            read = pool.submit(timed, lambda: reader.get("/api/integrations/basecamp/status/"))
            leave = pool.submit(timed, lambda: leaver.http.post(
                f"{server.url}/integrations/basecamp/disconnect", data={"csrf_token": csrf_token(leave_page)},
                allow_redirects=False, timeout=60))
            join = pool.submit(timed, lambda: newcomer.signup())
            (read_status, read_s), (leave_status, leave_s), (join_status, join_s) = \
                read.result(), leave.result(), join.result()
        locker.join()
        lock_s = time.monotonic() - locked_at
        after, left = stored(server.db_url, reader.email), stored(server.db_url, leaver.email)
        joined = newcomer.get("/api/integrations/basecamp/status/").status_code  # the new user exists, signed in
    finally:
        server.stop()
    intact = (after.access_token, after.refresh_token) == (before.access_token, before.refresh_token)
    passed = (read_status == 200 and read_s < 1.0 and leave_status == 302 and join_status == 200
              and min(leave_s, join_s) >= HOLD_S * 0.8 and left.state == "disconnected" and left.access_token is None
              and intact and joined == 200)
    reliability_report.record(
        "Faults", "SQLite database write-locked by another connection",
        f"BEGIN IMMEDIATE held {HOLD_S:g} s while a status read, a disconnect and a sign-up arrive",
        "read answers at once (WAL); both writes wait and succeed after the lock (busy timeout 30 s); nothing lost",
        f"read HTTP {read_status} in {read_s * 1000:.0f} ms; disconnect HTTP {leave_status} after {leave_s:.1f} s; "
        f"sign-up HTTP {join_status} after {join_s:.1f} s (lock released at {lock_s:.1f} s)",
        "none: disconnect stored, new user stored, other tokens intact" if passed else "see observed", passed)
    assert passed
