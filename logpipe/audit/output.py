"""Print rows as an aligned table, CSV or JSON (exact decimals such as success rates become JSON numbers)."""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import IO, Any

from logpipe.audit.catalogue import Row

FORMATS = ("table", "csv", "json")


def write(rows: Sequence[Row], columns: Sequence[str], fmt: str, out: IO[str]) -> None:
    """Write `rows` under `columns` in `fmt` (table, csv or json)."""
    if fmt == "json":
        json.dump([dict(zip(columns, row)) for row in rows], out, indent=2, ensure_ascii=False, default=float)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    else:
        out.write(table(rows, columns))


def _cell(value: Any) -> str:
    return "-" if value is None else " ".join(str(value).split())


def _numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, (int, float, Decimal)) for v in present)


def table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """Columns padded to their widest cell; number columns right-aligned; `-` for null; `(no rows)` when empty."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [_numeric([r[i] for r in rows]) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells]
    if not rows:
        out.append("(no rows)")
    return "\n".join(out) + "\n"
