"""Database models: our users, their Basecamp connections and in-flight OAuth flows."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import Base, UTCDateTime, utcnow

CONNECTED = "connected"
EXPIRED = "expired"
DISCONNECTED = "disconnected"


class User(UserMixin, Base):
    """A person who signs in to this service."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class BasecampConnection(Base):
    """A user's link to one bc3 account. The row survives a disconnect (tokens wiped, version bumped)."""

    __tablename__ = "basecamp_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=CONNECTED, index=True)
    account_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    account_name: Mapped[str | None] = mapped_column(String(255))
    href: Mapped[str | None] = mapped_column(String(512))
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    connected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_refresh_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_refresh_result: Mapped[str | None] = mapped_column(String(32))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    refresh_lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refresh_lease_owner: Mapped[str | None] = mapped_column(String(64))


class OAuthFlow(Base):
    """One connect attempt: the hashed single-use state, bound to the browser session that started it."""

    __tablename__ = "oauth_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_binding: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Several bc3 accounts: the chooser's choices and the encrypted token set, until the user picks one.
    pending_accounts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    pending_tokens_enc: Mapped[str | None] = mapped_column(Text)
