"""Go and Prometheus text formats: strconv.Quote, float verbs, label sets, model.Duration."""
import math
from collections.abc import Mapping
from decimal import Decimal

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
            "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def quote(text: str) -> str:
    """Go's strconv.Quote."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def labels_str(labels: Mapping[str, str]) -> str:
    """Prometheus labels.Labels.String(): `{a="1", b="2"}`, sorted by name."""
    return "{" + ", ".join(f"{k}={quote(labels[k])}" for k in sorted(labels)) + "}"


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of |value| (no trailing zeros) and the exponent of the first digit."""
    if value == 0:
        return "0", 0
    dec = Decimal(repr(abs(value))).normalize()
    _, digits, exp = dec.as_tuple()
    text = "".join(map(str, digits))
    return text, len(text) - 1 + exp


def _exp_form(digits: str, exp10: int, upper: bool) -> str:
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp10 < 0 else "+"
    return f"{mant}{'E' if upper else 'e'}{sign}{abs(exp10):02d}"


def format_float(value: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat(value, verb, prec, 64) for verbs e, E, f, g, G (prec -1 = shortest)."""
    special = _special(value)
    if special is not None:
        return special
    neg = "-" if math.copysign(1.0, value) < 0 else ""
    if prec >= 0:
        if verb in "fF":
            return f"{value:.{prec}f}"
        if verb in "eE":
            text = f"{value:.{prec}e}"
            return text.upper() if verb == "E" else text
        text = f"{value:.{max(prec, 1)}g}"  # Python's %g matches Go's for a given precision
        return text.upper() if verb == "G" else text
    digits, exp10 = _shortest_digits(value)
    if verb in "eE":
        return neg + _exp_form(digits, exp10, verb == "E")
    if verb in "fF":
        return f"{value:.{max(len(digits) - exp10 - 1, 0)}f}"
    if exp10 < -4 or exp10 >= 6:
        return neg + _exp_form(digits, exp10, verb == "G")
    return f"{value:.{max(len(digits) - exp10 - 1, 0)}f}"


def go_value(value: float) -> str:
    """fmt.Sprint of a float64 (what `{{ $value }}` prints)."""
    return format_float(value, "g", -1)


def sample_value(value: float) -> str:
    """strconv.FormatFloat(v, 'E', -1, 64), as promtool prints sample values."""
    return format_float(value, "E", -1)


_UNITS = (("y", 365 * 24 * 3600_000), ("w", 7 * 24 * 3600_000), ("d", 24 * 3600_000),
          ("h", 3600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def duration_str(ns: int) -> str:
    """Prometheus model.Duration.String(): `1h30m`, `5m`, `0s`."""
    ms = ns // 1_000_000
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS:
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


def _frac(whole: int, rest: int, digits: int) -> str:
    frac = f"{rest:0{digits}d}".rstrip("0")
    return f"{whole}.{frac}" if frac else str(whole)


def go_duration_str(ns: int) -> str:
    """Go's time.Duration.String(): `5m0s`, `1h0m0s`, `1.5s`, `250ms`."""
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns == 0:
        return "0s"
    if ns < 1000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_frac(ns // 1000, ns % 1000, 3)}µs"
    if ns < 10**9:
        return f"{sign}{_frac(ns // 1_000_000, ns % 1_000_000, 6)}ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = _frac(rest // 10**9, rest % 10**9, 9) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text
