"""Read one user's stored connection straight from the database, tokens decrypted (test-side)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, text

from app.crypto import TokenCipher
from tests.app.conftest import FERNET_KEY


@dataclass(frozen=True)
class Stored:
    state: str
    access_token: str | None
    refresh_token: str | None
    version: int
    consecutive_failures: int
    last_refresh_result: str | None


def stored(database_url: str, email: str) -> Stored:
    """The connection row of the user with `email`, tokens decrypted with the test key."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            row = db.execute(text(
                "SELECT c.state, c.access_token_enc, c.refresh_token_enc, c.version, c.consecutive_failures, "
                "c.last_refresh_result FROM basecamp_connections c JOIN users u ON u.id = c.user_id "
                "WHERE u.email = :email"), {"email": email}).one()
    finally:
        engine.dispose()
    cipher = TokenCipher([FERNET_KEY])
    return Stored(row.state, row.access_token_enc and cipher.decrypt(row.access_token_enc),
                  row.refresh_token_enc and cipher.decrypt(row.refresh_token_enc), row.version,
                  row.consecutive_failures, row.last_refresh_result)


def access_tokens(database_url: str) -> list[str]:
    """Every connected row's access token, decrypted."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.scalars(text("SELECT access_token_enc FROM basecamp_connections WHERE state = 'connected'")).all()
    finally:
        engine.dispose()
    cipher = TokenCipher([FERNET_KEY])
    return [cipher.decrypt(row) for row in rows]
