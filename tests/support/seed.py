"""Seed many Basecamp connections straight into the database, with encrypted tokens that the
simulator issued (through its own code exchange), so refresh runs can start at any scale."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import create_engine, insert, select
from werkzeug.security import generate_password_hash

from app.crypto import TokenCipher
from app.models import BasecampConnection, User
from app.simulator.state import SimulatorState

REDIRECT = "http://127.0.0.1/integrations/basecamp/callback"


@dataclass(frozen=True)
class Seeded:
    """One seeded connection: its user id and the tokens stored for it (plaintext, for checks)."""

    user_id: int
    access_token: str
    refresh_token: str


def seed_connections(database_url: str, state: SimulatorState, key: str, count: int, expires_in: dt.timedelta,
                     client_id: str = "sim-client-id") -> list[Seeded]:
    """`count` users, each connected to their own simulated Basecamp account, tokens expiring
    in `expires_in`. Returns them in user id order."""
    cipher = TokenCipher([key])
    password_hash = generate_password_hash(secrets.token_urlsafe(16))  # nobody signs in as these users
    prefix = secrets.token_hex(3)
    tokens = []
    for index in range(count):
        answer = state.exchange_code(state.approve(f"seed-{prefix}-{index}@example.test", client_id, REDIRECT),
                                     client_id, REDIRECT)
        identity, _access = state.authenticate(answer["access_token"])
        tokens.append((answer, identity.accounts[0]))
    now = dt.datetime.now(dt.timezone.utc)
    engine = create_engine(database_url)
    with engine.begin() as db:
        db.execute(insert(User), [{"email": f"seed-{prefix}-{i}@example.com", "password_hash": password_hash}
                                  for i in range(count)])
        ids = list(db.scalars(select(User.id).where(User.email.like(f"seed-{prefix}-%")).order_by(User.id)))
        db.execute(insert(BasecampConnection), [
            {"user_id": uid, "state": "connected", "account_id": str(account.id), "account_name": account.name,
             "href": f"http://127.0.0.1/{account.id}", "access_token_enc": cipher.encrypt(answer["access_token"]),
             "refresh_token_enc": cipher.encrypt(answer["refresh_token"]), "expires_at": now + expires_in,
             "connected_at": now, "consecutive_failures": 0, "version": 1}
            for uid, (answer, account) in zip(ids, tokens)])
    engine.dispose()
    return [Seeded(uid, answer["access_token"], answer["refresh_token"]) for uid, (answer, _a) in zip(ids, tokens)]
