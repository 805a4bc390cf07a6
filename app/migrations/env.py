"""Alembic environment: online migrations against DATABASE_URL (or the URL set by app.migrations)."""
import os

from alembic import context
from sqlalchemy import create_engine

from app.db import Base
import app.models  # noqa: F401  (registers the tables on Base.metadata)

config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "sqlite:///var/app.db")

engine = create_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
