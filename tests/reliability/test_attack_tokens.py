"""Tokens are unreadable in the database without the key: the stored bytes hold no issued access or
refresh token, every token column is a Fernet token, and another key cannot decrypt it."""
from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import create_engine, inspect, text

from tests.app.conftest import (  # noqa: F401 - the fixtures of tests/app apply here too
    AppServer, Browser, browser, new_browser, server, sim,
)

AREA = "Attack and bad input"
ENCRYPTED = {("basecamp_connections", "access_token_enc"), ("basecamp_connections", "refresh_token_enc"),
             ("oauth_flows", "pending_tokens_enc")}


def _dump(db_url: str) -> tuple[str, list[str]]:
    """Every value of every table as text, and the encrypted token values."""
    engine = create_engine(db_url)
    values, encrypted = [], []
    with engine.connect() as db:
        for table in inspect(engine).get_table_names():
            for row in db.execute(text(f'SELECT * FROM "{table}"')).mappings():
                values += [str(v) for v in row.values()]
                encrypted += [row[c] for t, c in ENCRYPTED if t == table and row.get(c)]
    engine.dispose()
    return "\n".join(values), encrypted


def _database_files(db_url: str) -> bytes:
    if not db_url.startswith("sqlite:///"):
        return b""
    path = Path(db_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal"),
                                             path.with_name(path.name + "-journal")) if p.exists())


def _issued(sim) -> list[str]:
    """Every access and refresh token the simulator handed out since its last reset (test-only peek)."""
    state = sim.app.extensions["basecamp_simulator"]
    with state._lock:
        return [*state._access, *state._refresh]


def test_tokens_unreadable_without_the_key(server: AppServer, browser: Browser, new_browser, sim,
                                           reliability_report) -> None:
    assert browser.connect().status_code == 200
    assert browser.get("/api/integrations/basecamp/status/").status_code == 200
    issued = _issued(sim)
    sim.reset(accounts_per_identity=2)  # forgets the tokens issued so far
    chooser = new_browser().connect()  # a chooser flow holds its token set until the user picks
    assert "Choose a Basecamp account" in chooser.text
    issued += _issued(sim)
    dump, encrypted = _dump(server.db_url)
    raw = _database_files(server.db_url)
    in_rows = [t for t in issued if t in dump]
    in_bytes = [t for t in issued if t.encode() in raw]
    key = Fernet(server.config["TOKEN_ENCRYPTION_KEYS"])
    wrong_key = Fernet(Fernet.generate_key())
    not_fernet = [v[:8] for v in encrypted if not v.startswith("gAAAAA")]
    opened_by_wrong_key = 0
    for value in encrypted:
        try:
            wrong_key.decrypt(value.encode())
            opened_by_wrong_key += 1
        except InvalidToken:
            pass
    plain = [key.decrypt(v.encode()).decode() for v in encrypted]
    real = sum(any(t in p for t in issued) for p in plain)
    passed = (len(issued) >= 4 and len(encrypted) == 3 and not in_rows and not in_bytes and not not_fernet
              and opened_by_wrong_key == 0 and real == len(encrypted))
    reliability_report.record(
        AREA, "Tokens unreadable in the database without the key",
        f"{len(issued)} tokens issued (a connection and a pending account choice); every row of every table and "
        f"the raw database file ({len(raw)} bytes) searched; decrypt with another Fernet key",
        "no token in any row or byte; each of the 3 token columns a Fernet token (gAAAAA…); another key fails; "
        "the configured key yields the issued tokens",
        f"tokens in rows: {len(in_rows)}, in file bytes: {len(in_bytes)}; {len(encrypted) - len(not_fernet)}/"
        f"{len(encrypted)} Fernet; opened by another key: {opened_by_wrong_key}; decrypted to issued tokens: "
        f"{real}/{len(encrypted)}", "none", passed)
    assert passed
