"""The simulator's in-memory world: identities, codes, tokens, faults, rate limits, counts.

Every method takes the one lock, so a threaded server sees a consistent state and
the counts are exact under concurrency. Nothing here sleeps.
"""
from __future__ import annotations

import copy
import hashlib
import math
import random
import secrets
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .faults import ENDPOINTS, FaultRule, parse_rules


class GrantError(Exception):
    """A token request the simulator refuses; `error` is the OAuth error code."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Account:
    id: int
    product: str
    name: str
    projects: list[dict[str, Any]]


@dataclass
class Identity:
    id: int
    email: str
    first_name: str
    last_name: str
    accounts: list[Account]
    generation: int = 0  # bumped by a password change; older tokens die


@dataclass
class AuthCode:
    email: str
    client_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class AccessToken:
    email: str
    generation: int
    expires_at: float


@dataclass
class RefreshToken:
    email: str
    generation: int
    issued_at: float
    via: str
    revoked: bool = False
    grant_times: list[float] = field(default_factory=list)
    rejected: int = 0


@dataclass
class FaultDecision:
    """What the fault rules say for one request: extra delay and, maybe, a terminal fault."""

    delay_s: float = 0.0
    rule: FaultRule | None = None


def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC with a Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def fingerprint(token: str) -> str:
    """The SHA-256 hex of a token: lets tests name a token without the admin API echoing it."""
    return hashlib.sha256(token.encode()).hexdigest()


def _names_from_email(email: str) -> tuple[str, str]:
    parts = [p for p in email.split("@", 1)[0].replace("_", ".").replace("-", ".").split(".") if p]
    first = parts[0].capitalize() if parts else "Sim"
    last = " ".join(p.capitalize() for p in parts[1:]) or "User"
    return first, last


class SimulatorState:
    """All mutable simulator state behind one lock."""

    def __init__(self, settings: dict[str, Any], faults: list[dict[str, Any]]) -> None:
        self._lock = threading.Lock()
        self._initial = (dict(settings), copy.deepcopy(faults))
        self.reset_to(settings, faults)

    # ----- lifecycle, settings, counts -------------------------------------------------
    def reset_to(self, settings: dict[str, Any], faults: list[dict[str, Any]]) -> None:
        """Forget everything and start again with these settings and fault rules (raw JSON)."""
        rules = parse_rules(faults)
        with self._lock:
            self._settings = dict(settings)
            self._faults = rules
            self._rng = random.Random(self._settings["seed"])  # nosec B311 - seeded faults for repeatable runs; tokens use secrets
            self._counts: dict[str, Counter[str]] = {name: Counter() for name in ENDPOINTS}
            self._hits: dict[str, deque[float]] = defaultdict(deque)
            self._identities: dict[str, Identity] = {}
            self._codes: dict[str, AuthCode] = {}
            self._access: dict[str, AccessToken] = {}
            self._refresh: dict[str, RefreshToken] = {}
            self._next_identity = 1
            self._next_account = 1000001
            self._next_project = 2000001
            self._next_email = 1

    @property
    def initial(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Settings and fault rules the app was created with (what a reset returns to)."""
        return dict(self._initial[0]), copy.deepcopy(self._initial[1])

    def settings(self) -> dict[str, Any]:
        """A copy of the current settings."""
        with self._lock:
            return dict(self._settings)

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply validated changes; a new `seed` re-seeds the RNG. Returns all settings."""
        with self._lock:
            self._settings.update(changes)
            if "seed" in changes:
                self._rng = random.Random(changes["seed"])  # nosec B311 - seeded faults for repeatable runs; tokens use secrets
            return dict(self._settings)

    def count(self, endpoint: str, outcome: str) -> None:
        """Record one answer (or dropped connection) given by `endpoint`."""
        with self._lock:
            self._counts[endpoint][outcome] += 1

    def counts(self) -> dict[str, dict[str, int]]:
        """A snapshot of the counts, endpoint -> outcome -> n."""
        with self._lock:
            return {name: dict(sorted(c.items())) for name, c in self._counts.items()}

    # ----- rate limit and faults -------------------------------------------------------
    def admit(self, client_ip: str) -> int | None:
        """Sliding-window per-IP limit: None if admitted, else the Retry-After seconds."""
        with self._lock:
            limit, window = self._settings["rate_limit_per_10s"], self._settings["rate_limit_window_s"]
            if limit == 0:
                return None
            now = time.monotonic()
            hits = self._hits[client_ip]
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, math.ceil(hits[0] + window - now))
            hits.append(now)
            return None

    def add_faults(self, rules: list[FaultRule]) -> list[dict[str, Any]]:
        """Append rules after the existing ones; returns all rules."""
        with self._lock:
            self._faults.extend(rules)
            return [r.to_json() for r in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in self._faults]

    def decide_faults(self, endpoint: str, grant: str | None) -> FaultDecision:
        """Walk the rules in order: latency rules add up, the first other rule that fires wins."""
        decision = FaultDecision()
        with self._lock:
            for rule in self._faults:
                if not rule.applies_to(endpoint, grant):
                    continue
                if rule.count is not None:
                    if rule.remaining == 0:
                        continue
                    rule.remaining -= 1
                elif not self._rng.random() < rule.rate:
                    continue
                rule.fired += 1
                if rule.kind == "latency":
                    decision.delay_s += rule.latency_ms / 1000
                    continue
                decision.rule = rule
                break
        return decision

    # ----- identities and the authorize page -------------------------------------------
    def suggest_email(self) -> str:
        """A fresh address for the authorize page, so each visit can be its own identity."""
        with self._lock:
            n, self._next_email = self._next_email, self._next_email + 1
            return f"sim-user-{n}@example.test"

    def _identity(self, email: str) -> Identity:
        key = email.strip().lower()
        found = self._identities.get(key)
        if found is None:
            first, last = _names_from_email(key)
            accounts = [self._account("bc3", f"{first}'s Basecamp {i + 1}") for i in
                        range(self._settings["accounts_per_identity"])]
            accounts.append(self._account("campfire", f"{first}'s Campfire"))
            found = Identity(self._next_identity, key, first, last, accounts)
            self._next_identity += 1
            self._identities[key] = found
        return found

    def _account(self, product: str, name: str) -> Account:
        account_id, self._next_account = self._next_account, self._next_account + 1
        projects = []
        if product == "bc3":
            for i in range(self._settings["projects_per_account"]):
                projects.append({"id": self._next_project, "name": f"Project {i + 1}",
                                 "description": f"Simulated project {i + 1} of {name}",
                                 "status": "active"})
                self._next_project += 1
        return Account(account_id, product, name, projects)

    def approve(self, email: str, client_id: str, redirect_uri: str) -> str:
        """The person approved: make (or find) the identity and issue a one-time code."""
        with self._lock:
            identity = self._identity(email)
            code = secrets.token_urlsafe(24)
            self._codes[code] = AuthCode(identity.email, client_id, redirect_uri,
                                         time.time() + self._settings["code_lifetime_s"])
            return code

    # ----- tokens ----------------------------------------------------------------------
    def _issue(self, identity: Identity, via: str, with_refresh: bool) -> dict[str, Any]:
        now, lifetime = time.time(), self._settings["token_lifetime_s"]
        access = secrets.token_urlsafe(32)
        self._access[access] = AccessToken(identity.email, identity.generation, now + lifetime)
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer",  # nosec B105 - the OAuth token type
                                  "expires_in": lifetime}
        if with_refresh:
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = RefreshToken(identity.email, identity.generation, now, via)
            answer["refresh_token"] = refresh
        return answer

    def exchange_code(self, code: str, client_id: str, redirect_uri: str) -> dict[str, Any]:
        """Trade a code for tokens; single use, bound to client and redirect URI."""
        with self._lock:
            found = self._codes.get(code)
            if (found is None or found.used or found.expires_at <= time.time()
                    or found.client_id != client_id or found.redirect_uri != redirect_uri):
                raise GrantError("invalid_grant")
            found.used = True
            return self._issue(self._identities[found.email], "authorization_code", True)

    def refresh(self, token: str) -> dict[str, Any]:
        """Refresh grant: new access token; with rotation also a new refresh token."""
        with self._lock:
            found = self._refresh.get(token)
            if found is None:
                raise GrantError("invalid_grant")
            identity = self._identities[found.email]
            if found.generation != identity.generation:
                found.rejected += 1
                raise GrantError(self._settings["invalid_grant_error"])
            if found.revoked:
                found.rejected += 1
                raise GrantError("invalid_grant")
            found.grant_times.append(time.time())
            rotate = self._settings["rotate_refresh_tokens"]
            if rotate:
                found.revoked = True
            return self._issue(identity, "refresh_token", rotate)

    def issued_secrets(self) -> dict[str, list[str]]:
        """Every code, access token and refresh token issued since the last reset (for secret scans)."""
        with self._lock:
            return {"codes": list(self._codes), "access_tokens": list(self._access),
                    "refresh_tokens": list(self._refresh)}

    def authenticate(self, access_token: str) -> tuple[Identity, AccessToken] | None:
        """The identity behind a live access token, or None (unknown, expired, invalidated)."""
        with self._lock:
            found = self._access.get(access_token)
            if found is None or found.expires_at <= time.time():
                return None
            identity = self._identities[found.email]
            if found.generation != identity.generation:
                return None
            return identity, found

    def change_password(self, email: str) -> bool:
        """Invalidate every token of the identity; False if it is unknown."""
        with self._lock:
            identity = self._identities.get(email.strip().lower())
            if identity is None:
                return False
            identity.generation += 1
            return True

    def expire_access_tokens(self, email: str) -> bool:
        """Make the identity's access tokens expired now (refresh still works)."""
        with self._lock:
            key = email.strip().lower()
            if key not in self._identities:
                return False
            now = time.time()
            for token in self._access.values():
                if token.email == key:
                    token.expires_at = min(token.expires_at, now)
            return True

    def refresh_token_report(self) -> list[dict[str, Any]]:
        """Every refresh token issued (by fingerprint) with its grant history."""
        with self._lock:
            report = []
            for token, info in self._refresh.items():
                identity = self._identities[info.email]
                report.append({
                    "sha256": fingerprint(token),
                    "identity": info.email,
                    "issued_at": iso(info.issued_at),
                    "via": info.via,
                    "active": not info.revoked and info.generation == identity.generation,
                    "refresh_grants": len(info.grant_times),
                    "refresh_grant_times": [iso(t) for t in info.grant_times],
                    "rejected": info.rejected,
                })
            return report
