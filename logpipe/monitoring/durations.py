"""Prometheus-style durations (`1d12h`, `90s`) as whole seconds, both ways."""
import re

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([wdhms])")


def seconds(text: str) -> int:
    """`1h30m` → 5400."""
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def duration(total: int) -> str:
    """5400 → `1h30m`; 0 → `0s`."""
    if total == 0:
        return "0s"
    out = []
    for unit, size in _UNITS.items():
        if unit != "w" and total >= size:
            out.append(f"{total // size}{unit}")
            total %= size
    return "".join(out)
