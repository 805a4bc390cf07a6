"""The Go text/template subset Prometheus alert templates use, with Prometheus' functions.

Supported: `{{ $labels.x }}`, `{{ $value }}`, `{{ $externalLabels.x }}`, `{{ $externalURL }}`,
the `.Labels`/`.Value`/`.ExternalLabels`/`.ExternalURL` fields, string and number literals,
pipelines (`{{ $value | humanize }}`), `{{- -}}` trimming, comments, and the functions
`humanize`, `humanizePercentage`, `humanizeDuration` and `printf`. Anything else is refused
when the template is parsed.
"""
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from logpipe.ruletest.gofmt import go_value
from logpipe.ruletest.goprintf import sprintf

Value = str | float | int | Mapping[str, str]


class TemplateError(ValueError):
    """A template this subset cannot parse, or one that fails while expanding."""


@dataclass(frozen=True)
class TemplateData:
    """What Prometheus passes to an alert template."""

    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str]
    external_url: str = ""


def _to_float(arg: Value) -> float:
    """Prometheus' convertToFloat."""
    if isinstance(arg, bool) or isinstance(arg, Mapping):
        raise TemplateError(f"can't convert {type(arg).__name__} to float")
    if isinstance(arg, (int, float)):
        return float(arg)
    if arg != arg.strip():
        raise TemplateError(f'strconv.ParseFloat: parsing "{arg}": invalid syntax')
    try:
        return float(arg)
    except ValueError:
        raise TemplateError(f'strconv.ParseFloat: parsing "{arg}": invalid syntax') from None


def _g4(value: float) -> str:
    return sprintf("%.4g", [value])


def _scale_down(value: float, suffix: str = "") -> str:
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{_g4(value)}{prefix}{suffix}"


def humanize(arg: Value) -> str:
    """Prometheus `humanize`: SI prefixes, 4 significant digits."""
    v = _to_float(arg)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return f"{_g4(v)}{prefix}"
    return _scale_down(v)


def _quo(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    return -(-a // b) if a < 0 else a // b


def _rem(a: int, b: int) -> int:
    """Go's % (the sign of the dividend)."""
    return a - b * _quo(a, b)


def humanize_duration(arg: Value) -> str:
    """Prometheus `humanizeDuration`: seconds as `1d 2h 3m 4s`, `1.5s`, `250ms`."""
    v = _to_float(arg)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return f"{_g4(v)}s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v) if v < 2**63 else -(2**63)  # Go's int64(v) on amd64 overflows to MinInt64
        seconds, minutes = _rem(whole, 60), _rem(_quo(whole, 60), 60)
        hours, days = _rem(_quo(whole, 3600), 24), _quo(whole, 86400)
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    return _scale_down(v, "s")


def humanize_percentage(arg: Value) -> str:
    """Prometheus `humanizePercentage`: a ratio as a percentage, 4 significant digits."""
    return f"{_g4(_to_float(arg) * 100)}%"


FUNCTIONS: dict[str, Callable[..., str]] = {
    "humanize": humanize,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
    "printf": lambda fmt, *args: sprintf(_as_format(fmt), list(args)),
}
_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
_ROOT_FIELDS = {"Labels": "labels", "Value": "value", "ExternalLabels": "external_labels",
                "ExternalURL": "external_url"}
_VARIABLES = {"$labels": "labels", "$value": "value", "$externalLabels": "external_labels",
              "$externalURL": "external_url"}
_TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*") | (?P<raw>`[^`]*`) | (?P<pipe>\|) |
    (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?) |
    (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*) | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.) |
    (?P<ident>[A-Za-z_][A-Za-z0-9_]*) | (?P<other>\S))""", re.VERBOSE)


def _as_format(fmt: Value) -> str:
    if not isinstance(fmt, str):
        raise TemplateError("printf's format must be a string")
    return fmt


def _unquote(literal: str) -> str:
    try:
        return literal[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as exc:
        raise TemplateError(f"bad string literal {literal}: {exc}") from None


@dataclass(frozen=True)
class _Operand:
    kind: str  # "const", "data"
    const: Value | None = None
    path: tuple[str, ...] = ()  # first element is a TemplateData attribute

    def evaluate(self, data: TemplateData) -> Value:
        if self.kind == "const":
            return self.const  # type: ignore[return-value]
        value: Value = getattr(data, self.path[0])
        for key in self.path[1:]:
            if not isinstance(value, Mapping):
                raise TemplateError(f"can't evaluate field {key} in type float64")
            value = value.get(key, "")
        return value


@dataclass(frozen=True)
class _Command:
    function: str | None
    args: tuple[_Operand, ...]


def _parse_operand(kind: str, text: str) -> _Operand:
    if kind == "string":
        return _Operand("const", _unquote(text))
    if kind == "raw":
        return _Operand("const", text[1:-1])
    if kind == "number":
        is_float = any(c in text for c in ".eE")
        return _Operand("const", float(text) if is_float else int(text))
    if kind == "var":
        head, *rest = text.split(".")
        if head not in _VARIABLES:
            raise TemplateError(f'undefined variable "{head}"')
        return _Operand("data", path=(_VARIABLES[head], *rest))
    head, *rest = text[1:].split(".") if text != "." else ("",)
    if head not in _ROOT_FIELDS:
        raise TemplateError(f"field .{head} is not supported (use .Labels, .Value, .ExternalLabels, .ExternalURL)")
    return _Operand("data", path=(_ROOT_FIELDS[head], *rest))


def _parse_action(action: str) -> list[_Command]:
    commands: list[_Command] = []
    current: list[tuple[str, str]] = []
    pos = 0
    stripped = action.strip()
    while pos < len(stripped):
        tok = _TOKEN.match(stripped, pos)
        if tok is None:
            break
        pos = tok.end()
        kind = tok.lastgroup or "other"
        text = tok.group(kind)
        if kind == "other":
            raise TemplateError(f"unexpected {text!r} in {{{{{action}}}}} (parentheses and other syntax are not supported)")
        if kind == "pipe":
            commands.append(_build_command(current, action))
            current = []
        else:
            current.append((kind, text))
    commands.append(_build_command(current, action))
    for later in commands[1:]:
        if later.function is None:
            raise TemplateError(f"in {{{{{action}}}}}: only a function may follow |")
    return commands


def _build_command(tokens: list[tuple[str, str]], action: str) -> _Command:
    if not tokens:
        raise TemplateError(f"missing value in {{{{{action}}}}}")
    kind, text = tokens[0]
    if kind == "ident":
        if text in _KEYWORDS:
            raise TemplateError(f"template action {{{{ {text} }}}} is not supported")
        if text not in FUNCTIONS:
            raise TemplateError(f'function "{text}" is not supported '
                                f"(supported: {', '.join(sorted(FUNCTIONS))})")
        args = tokens[1:]
        if any(k == "ident" for k, _ in args):
            raise TemplateError(f"in {{{{{action}}}}}: a function name cannot be an argument")
        return _Command(text, tuple(_parse_operand(k, t) for k, t in args))
    if len(tokens) > 1:
        raise TemplateError(f"in {{{{{action}}}}}: can't give argument to non-function {text}")
    return _Command(None, (_parse_operand(kind, text),))


def _print(value: Value) -> str:
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{value[k]}" for k in sorted(value)) + "]"
    if isinstance(value, float):
        return go_value(value)
    return str(value)


class Template:
    """A parsed template; `expand` renders it like Prometheus' template expander."""

    def __init__(self, text: str) -> None:
        self.parts: list[str | list[_Command]] = []
        pos = 0
        trim_next = False
        while True:
            start = text.find("{{", pos)
            literal = text[pos:] if start < 0 else text[pos:start]
            if trim_next:
                literal = literal.lstrip()
            if start < 0:
                self.parts.append(literal)
                break
            end = _action_end(text, start + 2)
            inner = text[start + 2:end]
            if inner.startswith("- ") or inner.startswith("-\t") or inner.startswith("-\n"):
                literal, inner = literal.rstrip(), inner[1:]
            trim_next = inner.endswith(" -") or inner.endswith("\t-") or inner.endswith("\n-")
            if trim_next:
                inner = inner[:-1]
            self.parts.append(literal)
            if not inner.strip().startswith("/*"):
                self.parts.append(_parse_action(inner))
            elif not inner.strip().endswith("*/"):
                raise TemplateError("unclosed comment")
            pos = end + 2

    def expand(self, data: TemplateData) -> str:
        """Render with the data; raises TemplateError when a function fails."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value: Value | None = None
            for i, command in enumerate(part):
                args = [a.evaluate(data) for a in command.args]
                if i > 0:
                    args.append(value)  # type: ignore[arg-type]
                if command.function is None:
                    value = args[0]
                    continue
                try:
                    value = FUNCTIONS[command.function](*args)
                except TypeError:
                    raise TemplateError(f"wrong number of args for {command.function}") from None
                except TemplateError as exc:
                    raise TemplateError(f"error calling {command.function}: {exc}") from None
            out.append(_print(value))  # type: ignore[arg-type]
        return "".join(out)


def _action_end(text: str, pos: int) -> int:
    """Index of the `}}` closing an action that starts at pos, skipping string literals."""
    quote = ""
    while pos < len(text):
        ch = text[pos]
        if quote:
            if ch == "\\" and quote == '"':
                pos += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"`":
            quote = ch
        elif text.startswith("}}", pos):
            return pos
        pos += 1
    raise TemplateError("unclosed action: missing }}")


def expand_or_error(template: Template, data: TemplateData) -> str:
    """Expand as Prometheus does: a failing template yields `<error expanding template: …>`."""
    try:
        return template.expand(data)
    except TemplateError as exc:
        return f"<error expanding template: {exc}>"
