"""Label-set and series-selector notation: `name{a="1", b=~"x.*"}` (as promtool's exp_samples use)."""
import re
from collections.abc import Mapping
from dataclasses import dataclass

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# A recording-rule reference in a logql_expr_test: a bare metric name, optionally with matchers.
RECORD_REF = re.compile(r"\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{[^(]*\})?\s*", re.DOTALL)
_OP = re.compile(r"=~|!~|!=|=")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_UNESCAPE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b",
             "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are fully anchored as in Prometheus."""

    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the label set satisfies the matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


def _unquote(literal: str) -> str:
    out, i, body = [], 0, literal[1:-1]
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in _UNESCAPE:
                raise ValueError(f"unknown escape \\{nxt}")
            out.append(_UNESCAPE[nxt])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def parse_selector(text: str) -> tuple[str | None, list[Matcher]]:
    """Parse `name`, `{…}` or `name{…}`; raises ValueError with the position of a problem."""
    pos, n = 0, len(text)

    def skip() -> None:
        nonlocal pos
        while pos < n and text[pos].isspace():
            pos += 1

    def fail(what: str) -> ValueError:
        return ValueError(f"{what} at col {pos + 1} of {text!r}")

    skip()
    name = None
    found = METRIC_NAME.match(text, pos)
    if found:
        name, pos = found.group(), found.end()
        skip()
    matchers: list[Matcher] = []
    if pos < n and text[pos] == "{":
        pos += 1
        skip()
        while pos < n and text[pos] != "}":
            label = LABEL_NAME.match(text, pos)
            if not label:
                raise fail("expected a label name")
            pos = label.end()
            skip()
            op = _OP.match(text, pos)
            if not op:
                raise fail("expected =, !=, =~ or !~")
            pos = op.end()
            skip()
            literal = _STRING.match(text, pos)
            if not literal:
                raise fail("expected a double-quoted value")
            pos = literal.end()
            value = _unquote(literal.group())
            if op.group() in ("=~", "!~"):
                try:
                    re.compile(value)
                except re.error as exc:
                    raise fail(f"invalid regex {value!r} ({exc})") from None
            matchers.append(Matcher(label.group(), op.group(), value))
            skip()
            if pos < n and text[pos] == ",":
                pos += 1
                skip()
            elif pos < n and text[pos] != "}":
                raise fail("expected , or }")
        if pos >= n:
            raise fail("missing }")
        pos += 1
        skip()
    elif name is None:
        raise fail("expected a metric name or {")
    if pos != n:
        raise fail("unexpected text")
    return name, matchers


def parse_labels(text: str) -> dict[str, str]:
    """A label set `name{a="1"}` or `{a="1"}`; the name becomes `__name__`. Only `=` is allowed."""
    name, matchers = parse_selector(text)
    labels = {} if name is None else {"__name__": name}
    for m in matchers:
        if m.op != "=":
            raise ValueError(f"label set {text!r} may only use =, not {m.op}")
        if m.name in labels:
            raise ValueError(f"label {m.name} repeated in {text!r}")
        labels[m.name] = m.value
    return labels
