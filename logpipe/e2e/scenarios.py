"""Traffic scenarios: what the simulated people do, which faults Basecamp injects, the seed.

Fault rates are per HTTP request the app makes, drawn from the simulator's seeded RNG:

- `rate_limit`: 429 with `Retry-After: retry_after_s` on refresh grants and bc3 API calls;
- `server_error`: 503 on authorization.json (identity) and bc3 API calls;
- `invalid_grant`: `invalid_grant` on refresh grants (the connection then expires);
- `latency`: `latency_ms` added to token, identity and API answers.

A scenario may add `bursts`: rules that fire on the next N matching requests (exact counts).
Refresh grants see only 429 and invalid_grant, so a failed refresh is either `invalid_grant`
(one answer) or `rate_limited` (three 429 in a row): the simulator's counts then tell both
failure types apart without reading the app's log.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class FaultRates:
    """Per-request fault probabilities (0..1) injected by the simulator."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    invalid_grant: float = 0.0
    latency: float = 0.0
    latency_ms: int = 150
    retry_after_s: int = 1

    def rules(self) -> list[dict[str, Any]]:
        """The simulator's fault rules (latency first: it adds up; then the first terminal fault wins)."""
        rules: list[dict[str, Any]] = []
        if self.latency:
            rules += [{"endpoint": e, "kind": "latency", "rate": self.latency, "latency_ms": self.latency_ms}
                      for e in ("token", "identity", "api")]
        if self.rate_limit:
            rules += [{"endpoint": "token", "grant": "refresh_token", "kind": "rate_limit", "rate": self.rate_limit,
                       "retry_after": self.retry_after_s},
                      {"endpoint": "api", "kind": "rate_limit", "rate": self.rate_limit,
                       "retry_after": self.retry_after_s}]
        if self.invalid_grant:
            rules.append({"endpoint": "token", "grant": "refresh_token", "kind": "invalid_grant",
                          "rate": self.invalid_grant})
        if self.server_error:
            rules += [{"endpoint": e, "kind": "server_error", "rate": self.server_error, "status": 503}
                      for e in ("identity", "api")]
        return rules

    def text(self) -> str:
        return (f"429 {self.rate_limit:g} (Retry-After {self.retry_after_s} s), 5xx {self.server_error:g}, "
                f"invalid_grant {self.invalid_grant:g}, latency {self.latency:g} (+{self.latency_ms} ms)")


@dataclass(frozen=True)
class Behaviours:
    """How many of the `users` do each thing (the rest connect normally)."""

    users: int
    abandon: int = 0  # leave the Launchpad page without answering
    deny: int = 0  # press Deny
    expire: int = 0  # come back after the OAuth flow's lifetime
    duplicate: int = 0  # approve with a Launchpad login another user has connected
    replay: int = 0  # connected users who load their old callback URL (old `state`) again
    disconnect: int = 0  # connected users who disconnect before the refresh passes
    returning: int = 0  # users who sign out and sign in again before connecting
    refresh_passes: int = 3

    def validate(self) -> None:
        special = self.abandon + self.deny + self.expire + self.duplicate
        normal = self.users - special
        if min(self.users, self.abandon, self.deny, self.expire, self.duplicate, self.replay, self.disconnect,
               self.returning, self.refresh_passes) < 0:
            raise ValueError("counts must not be negative")
        if normal < max(1, self.replay, self.disconnect + min(self.duplicate, 1)):
            raise ValueError(f"{self.users} users leave {normal} normal connections: too few for "
                             f"{self.replay} replays, {self.disconnect} disconnects and duplicates")
        if self.returning > self.users:
            raise ValueError("more returning users than users")


@dataclass(frozen=True)
class Scenario:
    """One run: behaviours, faults, seed, and the alerts it is designed to make fire."""

    name: str
    behaviours: Behaviours
    faults: FaultRates
    seed: int
    #: (alertname, severity) the design needs among the alerts the ground truth expects.
    designed_to_fire: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    #: True: the ground truth must expect exactly `designed_to_fire`, nothing else.
    exact: bool = False
    #: Count-based fault rules added after the rate-based ones.
    bursts: tuple[dict[str, Any], ...] = ()

    def fault_rules(self) -> list[dict[str, Any]]:
        return [*self.faults.rules(), *self.bursts]

    def faults_text(self) -> str:
        bursts = "; ".join(f"{b['count']}× {b['kind']} on {b['endpoint']}{' ' + b['grant'] if 'grant' in b else ''}"
                           for b in self.bursts)
        return self.faults.text() + (f"; bursts: {bursts}" if bursts else "")

    def sim_settings(self) -> dict[str, Any]:
        """Simulator settings: seeded RNG, no per-IP limit (429s come from the seeded faults only),
        one Basecamp account per login, 1-hour tokens."""
        return {"seed": self.seed, "rate_limit_per_10s": 0, "accounts_per_identity": 1, "token_lifetime_s": 3600}  # nosec B105 - seconds


def healthy(users: int, seed: int) -> Scenario:
    """Few unhappy flows and no faults: nothing may fire."""
    return Scenario("healthy", Behaviours(users=users, abandon=1, replay=1, disconnect=1, returning=max(1, users // 5)),
                    FaultRates(), seed, exact=True)


def degraded(users: int, seed: int, refresh_passes: int) -> Scenario:
    """Healthy people, and exact fault bursts that cross warning thresholds only: a few 429s
    (rate-limit warning, < 10) and invalid_grant on ~7.5% of refreshes (success rate warning,
    90–95%; error share below 10%)."""
    base = healthy(users, seed)
    live = users - base.behaviours.abandon - base.behaviours.disconnect  # connected when refreshes start
    expire = next(k for k in range(1, live + 1)
                  if 100 * k / (live * refresh_passes - k * (refresh_passes - 1)) >= 7.5)
    return Scenario("degraded", replace(base.behaviours, refresh_passes=refresh_passes),
                    FaultRates(), seed,
                    frozenset({("BasecampTokenRefreshSuccessRateLow", "warning"), ("BasecampRateLimited", "warning")}),
                    exact=True,
                    bursts=({"endpoint": "api", "kind": "rate_limit", "count": 3, "retry_after": 1},
                            {"endpoint": "token", "grant": "refresh_token", "kind": "invalid_grant", "count": expire}))


def faulty(users: int, seed: int, faults: FaultRates | None = None) -> Scenario:
    """Every kind of unhappy flow, and 429/invalid_grant storms on refreshes."""
    share = max(1, users // 12)
    return Scenario(
        "faulty",
        Behaviours(users=users, abandon=share, deny=share, expire=share, duplicate=1, replay=share,
                   disconnect=share, returning=max(1, users // 5)),
        faults or FaultRates(rate_limit=0.5, server_error=0.1, invalid_grant=0.1, latency=0.2),
        seed,
        frozenset({("BasecampTokenRefreshSuccessRateLow", "critical"), ("BasecampRateLimited", "critical"),
                   ("BasecampErrorRateHigh", "critical")}),
    )
