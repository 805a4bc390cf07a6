"""Go's fmt.Sprintf for the values a Prometheus template holds (float64, int, string, label maps)."""
import math
import re
from collections.abc import Mapping

from logpipe.ruletest.gofmt import format_float, quote

_SPEC = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d*))?(.?)", re.DOTALL)


def _type_name(arg: object) -> str:
    if isinstance(arg, float):
        return "float64"
    if isinstance(arg, int):
        return "int"
    if isinstance(arg, str):
        return "string"
    return "map[string]string"


def _plain(arg: object) -> str:
    """%v of a value."""
    if isinstance(arg, float):
        return format_float(arg, "g", -1)
    if isinstance(arg, Mapping):
        return "map[" + " ".join(f"{k}:{arg[k]}" for k in sorted(arg)) + "]"
    return str(arg)


def _pad(body: str, flags: str, width: int | None, numeric: bool) -> str:
    if width is None or len(body) >= width:
        return body
    if "-" in flags:
        return body.ljust(width)
    if "0" in flags and numeric:
        sign = body[0] if body[:1] in "+- " and body[:1] else ""
        return sign + body[len(sign):].rjust(width - len(sign), "0")
    return body.rjust(width)


def _sign(body: str, flags: str) -> str:
    if body.startswith("-") or body.startswith("+"):
        return body
    if "+" in flags:
        return "+" + body
    if " " in flags:
        return " " + body
    return body


def _format_one(arg: object, verb: str, flags: str, width: int | None, prec: int | None) -> str:
    if isinstance(arg, float) and verb in "vfFeEgG":
        if math.isnan(arg) or math.isinf(arg):
            body = format_float(arg)  # NaN, +Inf or -Inf: Go always signs an infinity
            if math.isnan(arg):
                body = _sign(body, flags)
            return _pad(body, flags.replace("0", ""), width, False)
        go_verb = "g" if verb == "v" else verb
        body = format_float(arg, go_verb, -1 if prec is None and go_verb in "gG" else (6 if prec is None else prec))
        return _pad(_sign(body, flags), flags, width, True)
    if isinstance(arg, int) and verb in "vd":
        return _pad(_sign(str(arg), flags), flags, width, True)
    if isinstance(arg, int) and verb in "xX":
        body = format(abs(arg), "x" if verb == "x" else "X")
        body = ("-" if arg < 0 else "") + ("0x" if "#" in flags else "") + body
        return _pad(_sign(body, flags), flags, width, True)
    if isinstance(arg, str) and verb in "vs":
        return _pad(arg if prec is None else arg[:prec], flags, width, False)
    if isinstance(arg, str) and verb == "q":
        return _pad(quote(arg), flags, width, False)
    if isinstance(arg, Mapping) and verb in "vs":
        return _pad(_plain(arg), flags, width, False)
    return f"%!{verb}({_type_name(arg)}={_plain(arg)})"


def sprintf(fmt: str, args: list[object]) -> str:
    """fmt.Sprintf(fmt, args...), including Go's %!verb(type=value) and EXTRA/MISSING notes."""
    out: list[str] = []
    pos = used = 0
    while pos < len(fmt):
        pct = fmt.find("%", pos)
        if pct < 0:
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:pct])
        spec = _SPEC.match(fmt, pct)
        if spec is None:  # the pattern matches any text after %, so this is a bug, not bad input
            raise ValueError(f"printf verb not understood at {pct} in {fmt!r}")
        flags, width, prec, verb = spec.groups()
        pos = spec.end()
        if verb == "%":
            out.append("%")
            continue
        if verb == "":
            out.append("%!(NOVERB)")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[used]
        used += 1
        out.append(_format_one(arg, verb, flags, int(width) if width else None,
                               (int(prec) if prec else 0) if prec is not None else None))
    if used < len(args):
        extra = ", ".join(f"{_type_name(a)}={_plain(a)}" for a in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
