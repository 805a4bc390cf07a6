"""The LogQL syntax tree `parse()` returns."""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Matcher:
    """`name op "value"` with op one of = != =~ !~; regexes are fully anchored as in Loki."""

    name: str
    op: str
    value: str
    regex: re.Pattern | None = field(default=None, compare=False)

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = self.regex.fullmatch(value) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class LineFilter:
    op: str  # |= != |~ !~
    value: str
    regex: re.Pattern | None = field(default=None, compare=False)


@dataclass(frozen=True)
class JsonStage:
    """`| json` (exprs empty) or `| json label="path", ...` (exprs: (label, path parts))."""

    exprs: tuple[tuple[str, tuple], ...] = ()


@dataclass(frozen=True)
class LogfmtStage:
    pass


@dataclass(frozen=True)
class LabelFilter:
    """One label filter: kind is "match" (string matcher), "number", "duration" or "bytes"."""

    kind: str
    name: str
    op: str
    value: object
    matcher: Matcher | None = None


@dataclass(frozen=True)
class LabelFilterBinary:
    left: object
    right: object
    is_and: bool


@dataclass(frozen=True)
class LabelFilterStage:
    filter: object


@dataclass(frozen=True)
class LineFormat:
    template: object  # template.Template


@dataclass(frozen=True)
class LabelFormat:
    """Items: (dst, src label) renames or (dst, Template) templates, applied in order."""

    items: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class DropKeep:
    keep: bool
    items: tuple[tuple[str, Matcher | None], ...]


@dataclass(frozen=True)
class Unwrap:
    label: str
    conversion: str  # "" | duration | duration_seconds | bytes
    post_filters: tuple[LabelFilterStage, ...] = ()


@dataclass(frozen=True)
class LogExpr:
    """A log query: stream selector plus pipeline stages."""

    matchers: tuple[Matcher, ...]
    stages: tuple = ()


@dataclass(frozen=True)
class LogRange:
    log: LogExpr
    range_ns: int
    offset_ns: int = 0
    unwrap: Unwrap | None = None


@dataclass(frozen=True)
class Grouping:
    labels: tuple[str, ...]
    without: bool = False


@dataclass(frozen=True)
class RangeAgg:
    op: str
    range: LogRange
    param: float | None = None
    grouping: Grouping | None = None


@dataclass(frozen=True)
class VectorAgg:
    op: str
    expr: object
    grouping: Grouping | None = None
    param: float | None = None


@dataclass(frozen=True)
class VectorMatching:
    card: str = "one-to-one"  # one-to-one | many-to-one | one-to-many
    on: bool = False
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class BinOp:
    op: str
    lhs: object
    rhs: object
    return_bool: bool = False
    matching: VectorMatching = VectorMatching()


@dataclass(frozen=True)
class Literal:
    value: float


@dataclass(frozen=True)
class VectorLit:
    value: float


@dataclass(frozen=True)
class LabelReplace:
    expr: object
    dst: str
    replacement: str
    src: str
    regex: re.Pattern


SampleExpr = RangeAgg | VectorAgg | BinOp | Literal | VectorLit | LabelReplace
Expr = LogExpr | SampleExpr
