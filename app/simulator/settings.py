"""Simulator settings: defaults, `SIMULATOR_*` environment overrides and validation.

Precedence: built-in defaults < environment (`SIMULATOR_<KEY>` upper-cased) < the
dict given to `create_simulator_app` < `POST /_admin/config` at run time.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "client_id": "sim-client-id",
    "client_secret": "sim-client-secret",  # nosec B105 - the simulator's public development secret
    "app_name": "Basecamp Integration",
    "accounts_per_identity": 1,
    "projects_per_account": 2,
    "token_lifetime_s": 1209600,  # nosec B105 - a number of seconds
    "code_lifetime_s": 600,
    "rotate_refresh_tokens": False,
    "rate_limit_per_10s": 50,
    "rate_limit_window_s": 10.0,
    "seed": 0,
    "invalid_grant_error": "invalid_grant",
}

REFRESH_ERRORS = ("invalid_grant", "authorization_expired")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting that is unknown or has a value of the wrong type or range."""


def _int(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{key} must be an integer, got {value!r}")
    if value < minimum:
        raise SettingsError(f"{key} must be >= {minimum}, got {value}")
    return value


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{key} must be a non-empty string")
    return value


def _check(key: str, value: Any) -> Any:
    """Validate one setting and return its normalised value."""
    if key in ("client_id", "client_secret", "app_name"):
        return _text(key, value)
    if key in ("accounts_per_identity", "projects_per_account", "rate_limit_per_10s"):
        return _int(key, value, 0)
    if key in ("token_lifetime_s", "code_lifetime_s"):
        return _int(key, value, 1)
    if key == "seed":
        return _int(key, value, -(2**63))
    if key == "rate_limit_window_s":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SettingsError(f"{key} must be a positive number, got {value!r}")
        return float(value)
    if key == "rotate_refresh_tokens":
        if not isinstance(value, bool):
            raise SettingsError(f"{key} must be true or false, got {value!r}")
        return value
    if key == "invalid_grant_error":
        if value not in REFRESH_ERRORS:
            raise SettingsError(f"{key} must be one of {', '.join(REFRESH_ERRORS)}, got {value!r}")
        return value
    raise SettingsError(f"unknown setting {key!r}; known: {', '.join(sorted(DEFAULTS))}")


def validate_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a partial settings mapping; raises SettingsError on the first bad entry."""
    if not isinstance(values, Mapping):
        raise SettingsError("settings must be a JSON object")
    return {key: _check(key, value) for key, value in values.items()}


def _parse_env_value(key: str, raw: str) -> Any:
    default = DEFAULTS[key]
    text = raw.strip()
    if isinstance(default, bool):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise SettingsError(f"SIMULATOR_{key.upper()} must be true or false, got {raw!r}")
    if isinstance(default, int | float):
        try:
            return type(default)(text)
        except ValueError:
            raise SettingsError(f"SIMULATOR_{key.upper()} must be a number, got {raw!r}") from None
    return raw


def settings_from_env(environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], list[Any]]:
    """Read `SIMULATOR_<KEY>` overrides and `SIMULATOR_FAULTS` (a JSON list of fault rules)."""
    env = os.environ if environ is None else environ
    found = {key: _parse_env_value(key, env[f"SIMULATOR_{key.upper()}"])
             for key in DEFAULTS if f"SIMULATOR_{key.upper()}" in env}
    faults: list[Any] = []
    if env.get("SIMULATOR_FAULTS", "").strip():
        try:
            faults = json.loads(env["SIMULATOR_FAULTS"])
        except json.JSONDecodeError as exc:
            raise SettingsError(f"SIMULATOR_FAULTS is not valid JSON: {exc}") from None
    return validate_settings(found), faults
