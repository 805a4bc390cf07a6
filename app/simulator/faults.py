"""Fault rules: parsing, validation and matching.

A rule is `{endpoint, kind, count | rate, status, retry_after, latency_ms, grant}`:
`count: N` fires on the next N matching requests (rules are consumed in list order);
`rate: p` fires with probability p drawn from the simulator's seeded RNG, so the
same seed and the same request sequence give the same faults.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENDPOINTS = ("token", "identity", "api", "authorize")
KINDS = ("rate_limit", "server_error", "latency", "invalid_grant",
         "malformed_json", "connection_reset", "timeout")
GRANTS = ("authorization_code", "refresh_token")
_FIELDS = {"endpoint", "kind", "count", "rate", "status", "retry_after", "latency_ms", "grant"}
_DEFAULT_LATENCY_MS = {"latency": 300, "timeout": 2000}


class FaultError(ValueError):
    """A fault rule that cannot be understood."""


@dataclass
class FaultRule:
    """One fault rule plus how often it fired; `remaining` counts down for count rules."""

    endpoint: str
    kind: str
    count: int | None = None
    rate: float | None = None
    status: int = 503
    retry_after: int = 2
    latency_ms: float = 0
    grant: str | None = None
    remaining: int = field(default=0)
    fired: int = field(default=0)

    def applies_to(self, endpoint: str, grant: str | None) -> bool:
        """Whether this rule may fire on a request to `endpoint` (with `grant` for token)."""
        if self.endpoint not in ("*", endpoint):
            return False
        if self.kind == "invalid_grant" and endpoint != "token":
            return False
        if self.kind == "malformed_json" and endpoint == "authorize":
            return False
        return self.grant is None or (endpoint == "token" and grant == self.grant)

    def to_json(self) -> dict[str, Any]:
        """The rule as the admin endpoint shows it."""
        shown: dict[str, Any] = {"endpoint": self.endpoint, "kind": self.kind}
        if self.count is not None:
            shown.update(count=self.count, remaining=self.remaining)
        else:
            shown["rate"] = self.rate
        if self.kind == "server_error":
            shown["status"] = self.status
        if self.kind == "rate_limit":
            shown["retry_after"] = self.retry_after
        if self.kind in _DEFAULT_LATENCY_MS:
            shown["latency_ms"] = self.latency_ms
        if self.grant is not None:
            shown["grant"] = self.grant
        shown["fired"] = self.fired
        return shown


def _number(raw: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultError(f"{key} must be a number between {low:g} and {high:g}, got {value!r}")
    return value


def parse_rule(raw: Any) -> FaultRule:
    """Validate one rule given as a JSON object."""
    if not isinstance(raw, dict):
        raise FaultError(f"a fault rule must be a JSON object, got {raw!r}")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise FaultError(f"unknown fault field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    endpoint, kind, grant = raw.get("endpoint"), raw.get("kind"), raw.get("grant")
    if endpoint not in (*ENDPOINTS, "*"):
        raise FaultError(f"endpoint must be one of {', '.join(ENDPOINTS)} or *, got {endpoint!r}")
    if kind not in KINDS:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if grant is not None and (grant not in GRANTS or endpoint not in ("token", "*")):
        raise FaultError(f"grant must be one of {', '.join(GRANTS)} and needs endpoint token or *")
    if kind == "invalid_grant" and endpoint not in ("token", "*"):
        raise FaultError("invalid_grant faults apply to the token endpoint only")
    if kind == "malformed_json" and endpoint == "authorize":
        raise FaultError("malformed_json faults apply to JSON endpoints only")
    if ("count" in raw) == ("rate" in raw):
        raise FaultError("give exactly one of count (next N requests) or rate (probability)")
    rule = FaultRule(endpoint=endpoint, kind=kind, grant=grant)
    if "count" in raw:
        count = raw["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise FaultError(f"count must be a positive integer, got {count!r}")
        rule.count = rule.remaining = count
    else:
        rule.rate = float(_number(raw, "rate", 0, 0, 1))
    rule.status = int(_number(raw, "status", 503, 500, 599))
    rule.retry_after = int(_number(raw, "retry_after", 2, 0, 3600))
    rule.latency_ms = _number(raw, "latency_ms", _DEFAULT_LATENCY_MS.get(kind, 0), 0, 600_000)
    return rule


def parse_rules(raw: Any) -> list[FaultRule]:
    """Validate a list of rules (or `{"faults": [...]}`); raises FaultError."""
    if isinstance(raw, dict) and set(raw) == {"faults"}:
        raw = raw["faults"]
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise FaultError("faults must be a JSON list of rules")
    return [parse_rule(item) for item in raw]
