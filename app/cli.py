"""`flask basecamp ...`: migrate, refresh-due (one pass or a loop), health-snapshot, rotate-keys.

Human output goes to stderr: stdout carries only the FR-016 event stream.
"""
from __future__ import annotations

import signal
import threading

import click
from cryptography.fernet import InvalidToken
from flask import current_app
from flask.cli import AppGroup

from app.config import ConfigError, parse_duration
from app.integrations.basecamp.service import service

basecamp_cli = AppGroup("basecamp", help="Basecamp integration maintenance.")


def _seconds(name: str, value: str) -> float:
    try:
        return parse_duration(name, value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


@basecamp_cli.command("migrate")
def migrate() -> None:
    """Apply the database migrations (Alembic upgrade head)."""
    from app.migrations import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    click.echo("database is at the newest revision", err=True)


@basecamp_cli.command("refresh-due")
@click.option("--margin", default=None, help="refresh tokens expiring within this (default REFRESH_MARGIN, e.g. 1d)")
@click.option("--every", default=None, help="keep running, one pass per interval (e.g. 5m)")
def refresh_due(margin: str | None, every: str | None) -> None:
    """Refresh every connection whose token expires within the margin; log an account-health snapshot."""
    margin_s = _seconds("--margin", margin) if margin else current_app.config["REFRESH_MARGIN"]
    every_s = _seconds("--every", every) if every else None
    stop = threading.Event()
    if every_s:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    svc = service()
    try:
        while not stop.is_set():
            summary = svc.refresh_due(margin_s)
            svc.health_snapshot()
            click.echo("refresh-due: " + ", ".join(f"{k}={v}" for k, v in summary.items()), err=True)
            if not every_s:
                return
            stop.wait(every_s)
    except KeyboardInterrupt:
        click.echo("refresh-due: interrupted", err=True)
    except InvalidToken:
        raise click.ClickException("stored tokens cannot be decrypted with TOKEN_ENCRYPTION_KEYS "
                                   "(a key is missing; keep old keys after the first until rotate-keys ran)") from None


@basecamp_cli.command("health-snapshot")
def health_snapshot() -> None:
    """Log one basecamp_account_health event with the connection counts."""
    counts = service().health_snapshot()
    click.echo(f"accounts: total={counts['total']} connected={counts['connected']} expired={counts['expired']}",
               err=True)


@basecamp_cli.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt stored tokens with the first TOKEN_ENCRYPTION_KEYS key (then drop old keys)."""
    changed = service().rotate_keys()
    click.echo(f"re-encrypted {changed} record(s) with the first key", err=True)
