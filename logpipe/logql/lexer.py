"""Tokenizer for LogQL: identifiers, strings (Go quoting), numbers, durations, byte sizes, operators."""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from logpipe.logql.errors import LogQLError, LogQLSyntaxError
from logpipe.logql.timeutil import parse_bytes, parse_duration

SYMBOLS = ("|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=", "=", ">", "<", "{", "}", "(", ")",
           "[", "]", ",", "|", "+", "-", "*", "/", "%", "^", ":")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_UNIT_TAIL = re.compile(r"[0-9.A-Za-zµμ]*")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b", "f": "\f",
            "r": "\r", "v": "\v"}


@dataclass(frozen=True)
class Token:
    kind: str  # IDENT STRING NUMBER DURATION BYTES EOF or the symbol itself
    value: object
    pos: int
    text: str


def unquote_go(text: str) -> str:
    """Go's strconv.Unquote for "..." and `...` literals; raises ValueError."""
    if text.startswith("`"):
        return text[1:-1]
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = body[i + 2:i + 2 + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise ValueError(f"invalid escape in string {text}")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif nxt.isdigit():
            digits = body[i + 1:i + 4]
            if not re.fullmatch(r"[0-7]{3}", digits):
                raise ValueError(f"invalid escape in string {text}")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise ValueError(f"invalid escape \\{nxt} in string {text}")
    return "".join(out)


def tokenize(query: str) -> list[Token]:
    """Split a query into tokens; raises LogQLSyntaxError on an unknown character or bad literal."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "\"`":
            j = i + 1
            while j < n and query[j] != c:
                j += 2 if (c == '"' and query[j] == "\\") else 1
            if j >= n:
                raise LogQLSyntaxError("literal not terminated", i, query)
            raw = query[i:j + 1]
            try:
                tokens.append(Token("STRING", unquote_go(raw), i, raw))
            except ValueError as err:
                raise LogQLSyntaxError(str(err), i, query) from None
            i = j + 1
            continue
        if c.isdigit() or (c == "." and query[i + 1:i + 2].isdigit()):
            tokens.append(_number_like(query, i))
            i += len(tokens[-1].text)
            continue
        m = _IDENT.match(query, i)
        if m:
            tokens.append(Token("IDENT", m.group(), i, m.group()))
            i = m.end()
            continue
        for sym in SYMBOLS:
            if query.startswith(sym, i):
                tokens.append(Token(sym, sym, i, sym))
                i += len(sym)
                break
        else:
            raise LogQLSyntaxError(f"syntax error: unexpected character {c!r}", i, query)
    tokens.append(Token("EOF", None, n, ""))
    return tokens


def _number_like(query: str, i: int) -> Token:
    num = _NUMBER.match(query, i)
    tail = _UNIT_TAIL.match(query, num.end()).group()
    if not tail:
        return Token("NUMBER", float(num.group()), i, num.group())
    text = query[i:_UNIT_TAIL.match(query, i).end()]
    with contextlib.suppress(LogQLError):  # not a duration: maybe a byte size
        return Token("DURATION", parse_duration(text), i, text)
    try:
        return Token("BYTES", parse_bytes(text), i, text)
    except ValueError:
        raise LogQLSyntaxError(f"syntax error: invalid number, duration or size {text!r}", i, query) from None
