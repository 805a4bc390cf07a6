"""SQLAlchemy engine and the scoped session (one per request, removed at teardown)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    """Declarative base of every model."""


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (same on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


def utcnow() -> dt.datetime:
    """The current time, aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and thread sharing so several processes can work together."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(app: Flask) -> scoped_session:
    """Create the engine and scoped session for `app`; the session is removed after each request."""
    engine = make_engine(app.config["DATABASE_URL"])
    session = scoped_session(sessionmaker(bind=engine, expire_on_commit=False))
    app.extensions["db_engine"] = engine
    app.extensions["db_session"] = session

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        session.remove()

    return session


def get_session(app: Flask | None = None) -> scoped_session:
    """The app's scoped session (the current app when none is given)."""
    from flask import current_app

    return (app or current_app).extensions["db_session"]
