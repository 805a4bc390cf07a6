"""Durations, timestamps, byte sizes and number formatting with Loki's (Go's) exact rules."""
import calendar
import math
import re
from decimal import Decimal

from logpipe.logql.errors import LogQLError

_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
       "m": 60_000_000_000, "h": 3_600_000_000_000}
_PROM_UNITS = {"y": 365 * 86_400_000_000_000, "w": 7 * 86_400_000_000_000, "d": 86_400_000_000_000,
               "h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000}
_PROM_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_GO_PART = re.compile(r"(\d*)(?:\.(\d*))?([a-zµμ]*)")


def go_parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in ns; raises ValueError with Go's message."""
    orig, s, neg = text, text, False
    if s[:1] in "+-" and s:
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{orig}"')
    total = 0
    while s:
        m = _GO_PART.match(s)
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise ValueError(f'time: invalid duration "{orig}"')
        if not unit:
            raise ValueError(f'time: missing unit in duration "{orig}"')
        if unit not in _NS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{orig}"')
        value = Decimal(f"{whole or '0'}.{frac or '0'}") * _NS[unit]
        total += int(value)
        s = s[m.end():]
    return -total if neg else total


def parse_duration(text: str) -> int:
    """A Loki/Prometheus duration ("5m", "1h30m", "250ms", "1.5h", "7d") in nanoseconds."""
    m = _PROM_RE.match(text)
    if text and m and any(m.groups()):
        return sum(int(v) * _PROM_UNITS[u] for v, u in zip(m.groups(), ("y", "w", "d", "h", "m", "s", "ms")) if v)
    try:
        return go_parse_duration(text)
    except ValueError:
        raise LogQLError(f'not a valid duration string: "{text}"') from None


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$")
_SECONDS = re.compile(r"^-?\d+(?:\.\d{1,9})?$")
_second_cache: dict[str, int] = {}


def parse_rfc3339(text: str) -> int:
    """An RFC 3339 timestamp in ns since the epoch; raises ValueError."""
    secs = _second_cache.get(text[:19])
    if secs is not None and text[-1] == "Z":
        tail = text[19:-1]
        if not tail:
            return secs * 1_000_000_000
        if tail[0] == "." and 1 < len(tail) <= 10 and tail[1:].isdigit() and tail.isascii():
            return secs * 1_000_000_000 + int(tail[1:].ljust(9, "0"))
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    head = text[:19]
    secs = _second_cache.get(head)
    if secs is None:
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
        if len(_second_cache) < 100_000:
            _second_cache[head] = secs
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    frac = m.group(7)
    return secs * 1_000_000_000 + (int(frac.ljust(9, "0")) if frac else 0)


def parse_time(text: str) -> int:
    """RFC 3339 ("2026-01-01T00:00:00Z") or Unix seconds ("1767225600", "1767225600.5") to ns."""
    text = text.strip()
    if _SECONDS.match(text):
        whole, _, frac = text.lstrip("-").partition(".")
        ns = int(whole) * 1_000_000_000 + int(frac.ljust(9, "0") or 0)
        return -ns if text.startswith("-") else ns
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise LogQLError(f"cannot parse {text!r} as a time: use RFC 3339 or Unix seconds") from None


_GO_FLOAT = re.compile(r"^[+-]?(?:(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?|inf|infinity|nan)$", re.I)


def go_parse_float(text: str) -> float:
    """Go's strconv.ParseFloat(text, 64) for decimal input; raises ValueError with Go's message."""
    if _GO_FLOAT.match(text) and "_" not in text:
        try:
            return float(text)
        except (ValueError, OverflowError):
            pass
    raise ValueError(f'strconv.ParseFloat: parsing "{_go_quote(text)}": invalid syntax')


def _go_quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


_BYTES_RE = re.compile(r"^([0-9.]+)\s*([a-zA-Z]*)$")
_BYTE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "ki": 2**10, "kib": 2**10, "m": 10**6, "mb": 10**6,
               "mi": 2**20, "mib": 2**20, "g": 10**9, "gb": 10**9, "gi": 2**30, "gib": 2**30, "t": 10**12,
               "tb": 10**12, "ti": 2**40, "tib": 2**40, "p": 10**15, "pb": 10**15, "pi": 2**50,
               "pib": 2**50, "e": 10**18, "eb": 10**18, "ei": 2**60, "eib": 2**60}


def parse_bytes(text: str) -> int:
    """go-humanize's ParseBytes ("10KB", "1.5 MiB", "42"); raises ValueError."""
    m = _BYTES_RE.match(text.strip())
    if not m:
        raise ValueError(f'strconv.ParseFloat: parsing "{_go_quote(text)}": invalid syntax')
    unit = m.group(2).lower()
    if unit not in _BYTE_UNITS:
        raise ValueError(f"unhandled size name: {unit}")
    try:
        number = float(m.group(1))
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{m.group(1)}": invalid syntax') from None
    return int(number * _BYTE_UNITS[unit])


def format_value(value: float) -> str:
    """A sample value as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it ("+Inf", "NaN", "0.25")."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_timestamp(ts_ns: int) -> int | float:
    """A step timestamp as Loki prints it: Unix seconds with millisecond precision."""
    ms = ts_ns // 1_000_000
    return ms // 1000 if ms % 1000 == 0 else ms / 1000
