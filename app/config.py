"""Service configuration, read from the environment once at start-up.

| Variable | Default | Meaning |
|---|---|---|
| `APP_ENV` | `development` | `development` or `production`; production refuses to start without `SECRET_KEY` and `TOKEN_ENCRYPTION_KEYS`, and marks cookies Secure |
| `SECRET_KEY` | development: `var/dev-secrets.env`, else random per process | signs the session cookie and CSRF tokens |
| `DATABASE_URL` | `sqlite:///var/app.db` | SQLAlchemy URL; PostgreSQL as `postgresql+psycopg://user:pass@host/db` |
| `TOKEN_ENCRYPTION_KEYS` | development: `var/dev-secrets.env` (written by `make run`), else random per process | comma-separated Fernet keys; the first encrypts, all decrypt; `flask basecamp rotate-keys` re-encrypts with the first |
| `BASECAMP_CLIENT_ID` | `sim-client-id` | Launchpad OAuth client id |
| `BASECAMP_CLIENT_SECRET` | `sim-client-secret` | Launchpad OAuth client secret |
| `BASECAMP_REDIRECT_URI` | this app's `/integrations/basecamp/callback` | redirect URI registered with Launchpad |
| `BASECAMP_LAUNCHPAD_URL` | `https://launchpad.37signals.com` | Launchpad base URL (the simulator in development) |
| `BASECAMP_LAUNCHPAD_PUBLIC_URL` | `BASECAMP_LAUNCHPAD_URL` | Launchpad base URL as the browser reaches it, when it differs from the server's (docker-compose demo: `http://127.0.0.1:5001`); not named `BASECAMP_AUTHORIZE_URL`, which Authlib would read as its own setting |
| `BASECAMP_USER_AGENT` | `Basecamp Integration (ops@example.com)` | `User-Agent` sent on every Basecamp request |
| `BASECAMP_TIMEOUT` | `10` | seconds per HTTP attempt (connect and read) |
| `BASECAMP_BACKOFF_BASE` | `0.5` | seconds; full-jitter exponential backoff base between attempts |
| `BASECAMP_BACKOFF_MAX` | `8` | seconds; cap of one backoff wait |
| `BASECAMP_RETRY_AFTER_MAX` | `30` | seconds; cap on an honoured `Retry-After` |
| `BASECAMP_RATE_LIMIT` | `50/10s` | this process's pace towards Basecamp (Basecamp allows about 50 requests per 10 s per IP; give each process its share), `off` for none; a 429's `Retry-After` pauses the whole process |
| `STATUS_CACHE_TTL` | `600` | seconds a live-verified status stays cached per user |
| `OAUTH_FLOW_TTL` | `10m` | how long a started connect flow (its single-use `state`) stays valid (`90s`, `10m`) |
| `REFRESH_MARGIN` | `1d` | `flask basecamp refresh-due` refreshes tokens expiring within this (`90s`, `30m`, `12h`, `1d`) |
| `EVENT_LOG` | unset | file that receives the FR-016 events (besides stdout) |
| `SIGNIN_RATE_LIMIT` | `5/15m` | failed sign-ins allowed per account in the window, then 429 with `Retry-After`; counted per worker process (`off` or `0` disables) |
| `SIGNIN_IP_RATE_LIMIT` | `20/15m` | failed sign-ins allowed per client IP in the window, then 429 (`off` or `0` disables) |
| `CONNECT_RATE_LIMIT` | `10/15m` | Basecamp connect attempts allowed per user in the window, then 429 (`off` or `0` disables) |
| `PORT` | `5000` | `make run`: the app's port on 127.0.0.1 |
| `SIMULATOR_PORT` | `5001` | `make run`: the simulator's port on 127.0.0.1 |
"""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet


class ConfigError(Exception):
    """A missing or malformed setting; the message says which and how to fix it."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(name: str, value: str) -> float:
    """Parse `90`, `90s`, `5m`, `12h` or `1d` into seconds."""
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(f"{name}={value!r} is not a duration (examples: 90s, 5m, 12h, 1d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_rate(name: str, value: str) -> tuple[int, float]:
    """Parse `5/15m` into (5, 900.0); `off` or `0` into (0, 0.0), no limit.

    The limits are counted per process (see app.security): with W gunicorn workers, up to W times as many.
    """
    text = str(value).strip().lower()
    if text in ("off", "0"):
        return 0, 0.0
    count, sep, window = text.partition("/")
    if not sep or not count.strip().isdigit() or int(count) < 1:
        raise ConfigError(f"{name}={value!r} is not a rate (examples: 5/15m, 100/1h, off)")
    seconds = parse_duration(name, window)
    if seconds <= 0:
        raise ConfigError(f"{name}={value!r}: the window must be longer than 0")
    return int(count), seconds


def _number(name: str, value: Any, *, minimum: float = 0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if number < minimum:
        raise ConfigError(f"{name}={value!r} must be >= {minimum:g}")
    return number


_NUMBERS = {
    "STATUS_CACHE_TTL": ("600", 0),
    "BASECAMP_TIMEOUT": ("10", 0.001),
    "BASECAMP_BACKOFF_BASE": ("0.5", 0),
    "BASECAMP_BACKOFF_MAX": ("8", 0),
    "BASECAMP_RETRY_AFTER_MAX": ("30", 0),
}
_STRINGS = {
    "DATABASE_URL": "sqlite:///var/app.db",
    "BASECAMP_CLIENT_ID": "sim-client-id",
    "BASECAMP_CLIENT_SECRET": "sim-client-secret",  # nosec B105 - the simulator's public dev value, not a secret
    "BASECAMP_REDIRECT_URI": "",
    "BASECAMP_LAUNCHPAD_URL": "https://launchpad.37signals.com",
    "BASECAMP_LAUNCHPAD_PUBLIC_URL": "",
    "BASECAMP_USER_AGENT": "Basecamp Integration (ops@example.com)",
    "EVENT_LOG": "",
}
_RATES = {"BASECAMP_RATE_LIMIT": "50/10s", "SIGNIN_RATE_LIMIT": "5/15m", "SIGNIN_IP_RATE_LIMIT": "20/15m", "CONNECT_RATE_LIMIT": "10/15m"}
DEV_SECRETS_FILE = Path(__file__).resolve().parent.parent / "var" / "dev-secrets.env"
_KEY_HINT = "(make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"


def _dev_secrets() -> dict[str, str]:
    """What `make run` stored in var/dev-secrets.env, so CLI commands in development share its keys."""
    if not DEV_SECRETS_FILE.exists():
        return {}
    pairs = (line.partition("=") for line in DEV_SECRETS_FILE.read_text().splitlines())
    return {name.strip(): value.strip() for name, sep, value in pairs if sep}


@dataclass(frozen=True)
class Config:
    """The validated settings; `Config.from_env()` reads them, `flask_config()` maps them for Flask."""

    app_env: str
    secret_key: str
    database_url: str
    token_encryption_keys: tuple[str, ...]
    basecamp_client_id: str
    basecamp_client_secret: str
    basecamp_redirect_uri: str
    basecamp_launchpad_url: str
    basecamp_launchpad_public_url: str
    basecamp_user_agent: str
    basecamp_timeout: float
    basecamp_backoff_base: float
    basecamp_backoff_max: float
    basecamp_retry_after_max: float
    status_cache_ttl: float
    refresh_margin: float
    oauth_flow_ttl: float
    event_log: str
    basecamp_rate_limit: tuple[int, float]
    signin_rate_limit: tuple[int, float]
    signin_ip_rate_limit: tuple[int, float]
    connect_rate_limit: tuple[int, float]

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
        """Read the environment (plus `overrides`, which win); ConfigError with an actionable message."""
        raw: dict[str, Any] = {**(os.environ if environ is None else environ), **(overrides or {})}
        app_env = str(raw.get("APP_ENV") or "development").strip()
        if app_env not in ("development", "production"):
            raise ConfigError(f"APP_ENV={app_env!r}: use development or production")
        missing = [name for name in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEYS") if not raw.get(name)]
        if app_env == "production" and missing:
            raise ConfigError(f"APP_ENV=production requires {' and '.join(missing)} to be set")
        if missing:
            raw = {**_dev_secrets(), **raw}
        keys = tuple(k.strip() for k in str(raw.get("TOKEN_ENCRYPTION_KEYS") or Fernet.generate_key().decode())
                     .split(",") if k.strip())
        for index, key in enumerate(keys):
            try:
                Fernet(key)
            except (ValueError, TypeError):
                raise ConfigError(f"TOKEN_ENCRYPTION_KEYS: key #{index + 1} is not a Fernet key {_KEY_HINT}") from None
        if not keys:
            raise ConfigError(f"TOKEN_ENCRYPTION_KEYS holds no key {_KEY_HINT}")
        strings = {name.lower(): str(raw.get(name) or default).strip() for name, default in _STRINGS.items()}
        numbers = {name.lower(): _number(name, raw.get(name, default), minimum=minimum)
                   for name, (default, minimum) in _NUMBERS.items()}
        rates = {name.lower(): parse_rate(name, raw.get(name) or default) for name, default in _RATES.items()}
        for url in ("basecamp_launchpad_url", "basecamp_launchpad_public_url"):
            strings[url] = strings[url].rstrip("/")
        return cls(app_env=app_env, secret_key=str(raw.get("SECRET_KEY") or secrets.token_urlsafe(32)),
                   token_encryption_keys=keys,
                   refresh_margin=parse_duration("REFRESH_MARGIN", raw.get("REFRESH_MARGIN") or "1d"),
                   oauth_flow_ttl=parse_duration("OAUTH_FLOW_TTL", raw.get("OAUTH_FLOW_TTL") or "10m"),
                   **strings, **numbers, **rates)

    def flask_config(self) -> dict[str, Any]:
        """Flask config keys: every setting upper-cased, plus cookie and CSRF policy."""
        cfg: dict[str, Any] = {f.name.upper(): getattr(self, f.name) for f in fields(self)}
        cfg.update(
            SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=self.production,
            REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=self.production,
            WTF_CSRF_TIME_LIMIT=None, MAX_ATTEMPTS=3,
        )
        return cfg


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Flask config from the environment plus `overrides`; other override keys (TESTING, ...) pass through."""
    cfg = Config.from_env(environ, overrides).flask_config()
    for name, value in (overrides or {}).items():
        cfg.setdefault(name, value)
    return cfg
