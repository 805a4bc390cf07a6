"""The Go text/template subset `line_format` and `label_format` accept.

Supported: literal text, `{{ .label }}`, `{{ __line__ }}`, string literals, pipes `|`, trim markers
`{{-`/`-}}`, and the functions in FUNCTIONS. Missing labels render as "" (Loki's missingkey=zero).
Anything else raises UnsupportedLogQL when the query is parsed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from logpipe.logql.errors import LogQLSyntaxError, UnsupportedLogQL
from logpipe.logql.lexer import unquote_go

FUNCTIONS = {
    "ToLower": (1, lambda s: s.lower()),
    "ToUpper": (1, lambda s: s.upper()),
    "lower": (1, lambda s: s.lower()),
    "upper": (1, lambda s: s.upper()),
    "TrimSpace": (1, lambda s: s.strip()),
    "trim": (1, lambda s: s.strip()),
    "trimPrefix": (2, lambda p, s: s[len(p):] if p and s.startswith(p) else s),
    "trimSuffix": (2, lambda p, s: s[: -len(p)] if p and s.endswith(p) else s),
    "TrimPrefix": (2, lambda s, p: s[len(p):] if p and s.startswith(p) else s),
    "TrimSuffix": (2, lambda s, p: s[: -len(p)] if p and s.endswith(p) else s),
    "replace": (3, lambda old, new, s: s.replace(old, new)),
    "default": (2, lambda dflt, s: s if s else dflt),
}

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r'\s*(?:(\|)|(\.[A-Za-z_][A-Za-z0-9_]*)|("(?:[^"\\]|\\.)*")|(`[^`]*`)'
                    r'|([A-Za-z_][A-Za-z0-9_]*)|(\S+))')


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple  # str literal or tuple of commands; command = (func name | None, args)

    def render(self, labels: dict[str, str], line: str) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = None
            for func, args in part:
                vals = [_operand(a, labels, line) for a in args]
                if value is not None:
                    vals.append(value)
                if func is None:
                    value = vals[0]
                else:
                    arity, fn = FUNCTIONS[func]
                    if len(vals) != arity:
                        raise ValueError(f"wrong number of args for {func}: want {arity} got {len(vals)}")
                    value = fn(*vals)
            out.append(value)
        return "".join(out)


def _operand(arg: tuple, labels: dict[str, str], line: str) -> str:
    kind, val = arg
    if kind == "field":
        return labels.get(val, "")
    if kind == "line":
        return line
    return val


def parse_template(source: str, pos: int = 0, query: str = "") -> Template:
    """Compile a template; `pos`/`query` place syntax errors in the surrounding query."""
    parts: list = []
    last = 0
    trim_next = False
    for m in _ACTION.finditer(source):
        text = source[last:m.start()]
        if trim_next:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        if text:
            parts.append(text)
        parts.append(_parse_action(m.group(2), pos, query))
        trim_next = bool(m.group(3))
        last = m.end()
    tail = source[last:]
    if "{{" in tail:
        raise LogQLSyntaxError(f"invalid template {source!r}: unclosed action", pos, query)
    parts.append(tail.lstrip() if trim_next else tail)
    return Template(source, tuple(p for p in parts if p != ""))


def _parse_action(body: str, pos: int, query: str) -> tuple:
    commands: list[list] = [[]]
    for m in _TOKEN.finditer(body):
        pipe, field, dq, raw, ident, other = m.groups()
        if pipe:
            commands.append([])
        elif field:
            commands[-1].append(("field", field[1:]))
        elif dq:
            commands[-1].append(("str", _unquote(dq, pos, query)))
        elif raw:
            commands[-1].append(("str", raw[1:-1]))
        elif ident == "__line__":
            commands[-1].append(("line", None))
        elif ident in FUNCTIONS:
            commands[-1].append(("func", ident))
        elif ident or other:
            raise UnsupportedLogQL(f"template action {{{{{body.strip()}}}}} ({(ident or other)!r} is not implemented)")
    result = []
    for i, cmd in enumerate(commands):
        if not cmd:
            raise LogQLSyntaxError(f"invalid template action {{{{{body}}}}}: missing command", pos, query)
        func = cmd[0][1] if cmd[0][0] == "func" else None
        args = tuple(cmd[1:] if func else cmd)
        if any(a[0] == "func" for a in args):
            raise UnsupportedLogQL(f"template action {{{{{body.strip()}}}}} (nested function calls)")
        if func is None and (len(args) != 1 or i > 0):
            raise UnsupportedLogQL(f"template action {{{{{body.strip()}}}}}")
        if func is not None:
            want = FUNCTIONS[func][0]
            if len(args) + (1 if i > 0 else 0) != want:
                raise LogQLSyntaxError(f"template: wrong number of args for {func}: want {want}", pos, query)
        result.append((func, args))
    return tuple(result)


def _unquote(text: str, pos: int, query: str) -> str:
    try:
        return unquote_go(text)
    except ValueError as err:
        raise LogQLSyntaxError(str(err), pos, query) from None
