"""Log pipeline stages compiled to functions over a per-line record (Loki's LabelsBuilder semantics).

A stage takes a Rec and returns a Rec (possibly new) or None when the line is filtered out. Recs are
never mutated: a stage that changes labels copies the dict first, so results can be shared between
pipelines with a common prefix.
"""
from __future__ import annotations

import json
import re
from json.decoder import scanstring
from typing import Callable

try:
    import orjson as _orjson
except ImportError:  # optional: only speed depends on it
    _orjson = None

from logpipe.logql import ast
from logpipe.logql.errors import UnsupportedLogQL
from logpipe.logql.timeutil import go_parse_duration, go_parse_float, parse_bytes

ERROR = "__error__"
ERROR_DETAILS = "__error_details__"
DUPLICATE_SUFFIX = "_extracted"


class Rec:
    """One line inside a pipeline: its text, all labels, the stream (base) labels and the error state."""

    __slots__ = ("line", "labels", "base", "err", "details")

    def __init__(self, line: str, labels: dict, base: dict, err: str = "", details: str = "") -> None:
        self.line, self.labels, self.base, self.err, self.details = line, labels, base, err, details

    def with_labels(self, labels: dict) -> "Rec":
        return Rec(self.line, labels, self.base, self.err, self.details)

    def with_error(self, err: str, details: str, overwrite: bool = True) -> "Rec":
        if self.err and not overwrite:
            return self
        return Rec(self.line, self.labels, self.base, err, details)

    def full_labels(self) -> dict:
        """Labels as a series carries them, with __error__/__error_details__ when set."""
        if not self.err and not self.details:
            return self.labels
        out = dict(self.labels)
        if self.err:
            out[ERROR] = self.err
        if self.details:
            out[ERROR_DETAILS] = self.details
        return out


Stage = Callable[[Rec], "Rec | None"]


def _reject_constant(name: str):
    raise ValueError(f"invalid literal {name}")


_decode = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=_reject_constant).decode


def _fast_decode(line: str):
    """orjson when installed (numbers decoded, so callers re-decode with _decode when they need a
    float's exact text); any line orjson rejects is judged by the standard library instead."""
    if _orjson is not None:
        try:
            return _orjson.loads(line)
        except _orjson.JSONDecodeError:
            pass
    return _decode(line)


def _ok_rune(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or c == "_"


def sanitize_key(key: str, at_start: bool) -> str:
    """Loki's label-name sanitising: trim, '_' for every other rune, '_' before a leading digit."""
    key = key.strip()
    if not key:
        return ""
    prefix = "_" if at_start and "0" <= key[0] <= "9" else ""
    return prefix + "".join(c if _ok_rune(c) else "_" for c in key)


def _json_stage(needed: frozenset | None = None) -> Stage:
    """`| json`. With `needed` (Loki's parser label hints) only those label names are extracted;
    the whole line is still decoded, so a malformed line still gets JSONParserErr."""
    names: dict[tuple, dict] = {}

    def wanted_prefix(prefix: str) -> bool:
        return needed is None or any(n.startswith(prefix + "_") for n in needed)

    def flatten(obj: dict, prefix: str, out: dict, base: dict, base_id: int) -> bool:
        """Add obj's labels to out; False when a float must be re-read as its exact text."""
        table = names.get((base_id, prefix))
        if table is None:
            table = names[(base_id, prefix)] = {}
        for key, value in obj.items():
            name = table.get(key, 0)
            if name == 0:
                name = (prefix + "_" + sanitize_key(key, False)) if prefix else sanitize_key(key, True)
                if name in base:
                    name += DUPLICATE_SUFFIX
                if not name or (needed is not None and name not in needed):
                    name = None
                table[key] = name
            kind = type(value)
            if kind is str:
                if name is not None:
                    out[name] = "" if "\ufffd" in value else value  # Loki drops values with RuneError
            elif kind is dict:
                sub = table.get(("obj", key), 0)
                if sub == 0:
                    sub = (prefix + "_" if prefix else "") + sanitize_key(key, not prefix)
                    sub = table[("obj", key)] = sub if wanted_prefix(sub) else None
                if sub is not None and not flatten(value, sub, out, base, base_id):
                    return False
            elif name is None or value is None or kind is list:
                continue
            elif kind is bool:
                out[name] = "true" if value else "false"
            elif kind is int and value != 0:  # 0 could have been written "-0"
                out[name] = str(value)
            else:
                return False
        return True

    decode = _fast_decode if needed is not None else _decode  # all labels: floats need their text anyway

    def stage(rec: Rec) -> Rec:
        try:
            obj = decode(rec.line)
        except ValueError as err:
            return rec.with_error("JSONParserErr", str(err))
        if type(obj) is not dict:
            return rec.with_error("JSONParserErr", f"expecting json object, but it is not ({type(obj).__name__})")
        labels = dict(rec.labels)
        base = rec.base
        if not flatten(obj, "", labels, base, id(base)):
            labels = dict(rec.labels)
            flatten(_decode(rec.line), "", labels, base, id(base))
        return rec.with_labels(labels)

    return stage


def _json_expr_stage(exprs: tuple) -> Stage:
    """`| json label="path", ...`: values as Loki's jsonparser.EachKey gives them, i.e. the raw text
    (strings without quotes but with escapes kept, objects and arrays as written), "" for null or a
    missing path."""
    def stage(rec: Rec) -> Rec:
        line = rec.line
        if not line:
            return rec
        if line[0] not in '"{[':
            return rec.with_error("JSONParserErr", "")
        try:
            _decode(line)
        except ValueError as err:
            return rec.with_error("JSONParserErr", str(err))
        labels = dict(rec.labels)
        for ident, path in exprs:
            raw = _raw_lookup(line, path)
            if raw is None:
                if ident not in labels:
                    labels[ident] = ""
                continue
            name = ident + DUPLICATE_SUFFIX if ident in rec.base else ident
            labels[name] = "" if raw == "null" else raw[1:-1] if raw[:1] == '"' else raw
        return rec.with_labels(labels)

    return stage


_WS = re.compile(r"[ \t\n\r]*")
_skip_value = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=_reject_constant).raw_decode


def _raw_lookup(line: str, path: tuple) -> str | None:
    """The raw JSON text at `path` of a valid JSON document (first match of a key), or None."""
    i = _WS.match(line, 0).end()
    for part in path:
        if isinstance(part, int):
            if line[i:i + 1] != "[":
                return None
            i = _WS.match(line, i + 1).end()
            for _ in range(part):
                if line[i] == "]":
                    return None
                i = _WS.match(line, _skip_value(line, i)[1]).end()
                if line[i] == ",":
                    i = _WS.match(line, i + 1).end()
            if line[i] == "]":
                return None
            continue
        if line[i:i + 1] != "{":
            return None
        i = _WS.match(line, i + 1).end()
        while True:
            if line[i] == "}":
                return None
            key, i = scanstring(line, i + 1)
            i = _WS.match(line, _WS.match(line, i).end() + 1).end()  # past ':'
            if key == part:
                break
            i = _WS.match(line, _skip_value(line, i)[1]).end()
            if line[i] == ",":
                i = _WS.match(line, i + 1).end()
    end = _skip_value(line, i)[1]
    return line[i:end]


def _logfmt_pairs(line: str) -> list[tuple[str, str]]:
    """go-logfmt decoding of key=value pairs; raises ValueError on malformed input."""
    pairs, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] <= " ":
            i += 1
        if i >= n:
            break
        start = i
        while i < n and line[i] > " " and line[i] not in '="':
            i += 1
        if i == start:
            raise ValueError(f"logfmt syntax error at pos {i + 1} on line 1: unexpected {line[i]!r}")
        key = line[start:i]
        if i >= n or line[i] != "=":
            if i < n and line[i] == '"':
                raise ValueError(f"logfmt syntax error at pos {i + 1} on line 1: unexpected '\"'")
            pairs.append((key, ""))
            continue
        i += 1
        if i < n and line[i] == '"':
            j, buf = i + 1, []
            while j < n and line[j] != '"':
                if line[j] == "\\" and j + 1 < n:
                    esc = line[j + 1]
                    buf.append({"n": "\n", "t": "\t", "r": "\r"}.get(esc, esc))
                    j += 2
                    continue
                buf.append(line[j])
                j += 1
            if j >= n:
                raise ValueError(f"logfmt syntax error at pos {n + 1} on line 1: unterminated quoted value")
            pairs.append((key, "".join(buf)))
            i = j + 1
            continue
        start = i
        while i < n and line[i] > " ":
            if line[i] in '="':
                raise ValueError(f"logfmt syntax error at pos {i + 1} on line 1: unexpected {line[i]!r}")
            i += 1
        pairs.append((key, line[start:i]))
    return pairs


def _logfmt_stage() -> Stage:
    def stage(rec: Rec) -> Rec:
        labels = dict(rec.labels)
        try:
            pairs = _logfmt_pairs(rec.line)
        except ValueError as err:
            return rec.with_labels(labels).with_error("LogfmtParserErr", str(err))
        for key, value in pairs:
            name = sanitize_key(key, True)
            if not name:
                continue
            if name in rec.base:
                name += DUPLICATE_SUFFIX
            labels[name] = value
        return rec.with_labels(labels)

    return stage


_CMP = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
_CONVERT = {"number": go_parse_float, "duration": go_parse_duration, "bytes": parse_bytes}


def label_filter(node) -> Callable[[Rec], tuple[bool, Rec]]:
    """A label filter expression as a function returning (keep, rec) — rec may now carry an error."""
    if isinstance(node, ast.LabelFilterBinary):
        left, right, is_and = label_filter(node.left), label_filter(node.right), node.is_and

        def binary(rec: Rec) -> tuple[bool, Rec]:
            lok, rec = left(rec)
            if not is_and and lok:
                return True, rec
            rok, rec = right(rec)
            return (lok and rok) if is_and else (lok or rok), rec

        return binary
    if node.kind == "match":
        matcher, name = node.matcher, node.name

        def match(rec: Rec) -> tuple[bool, Rec]:
            value = rec.err if name == ERROR else rec.labels.get(name, "")
            return matcher.matches(value), rec

        return match
    convert, compare, name, want = _CONVERT[node.kind], _CMP[node.op], node.name, node.value

    def numeric(rec: Rec) -> tuple[bool, Rec]:
        raw = rec.labels.get(name)
        if raw is None:
            return False, rec
        try:
            value = convert(raw)
        except ValueError as err:
            return True, rec.with_error("LabelFilterErr", str(err), overwrite=False)
        return compare(value, want), rec

    return numeric


def _label_filter_stage(node: ast.LabelFilterStage) -> Stage:
    fn = label_filter(node.filter)

    def stage(rec: Rec) -> Rec | None:
        keep, rec = fn(rec)
        return rec if keep else None

    return stage


def _line_filter(node: ast.LineFilter) -> Stage:
    value, regex = node.value, node.regex
    if node.op == "|=":
        return lambda rec: rec if value in rec.line else None
    if node.op == "!=":
        return lambda rec: None if value in rec.line else rec
    if node.op == "|~":
        return lambda rec: rec if regex.search(rec.line) else None
    return lambda rec: None if regex.search(rec.line) else rec


def _line_format(node: ast.LineFormat) -> Stage:
    template = node.template

    def stage(rec: Rec) -> Rec:
        try:
            line = template.render(rec.labels, rec.line)
        except ValueError as err:
            return rec.with_error("TemplateFormatErr", str(err))
        return Rec(line, rec.labels, rec.base, rec.err, rec.details)

    return stage


def _label_format(node: ast.LabelFormat) -> Stage:
    def stage(rec: Rec) -> Rec:
        labels = dict(rec.labels)
        snapshot = None
        for dst, src in node.items:
            if isinstance(src, str):
                if src in labels:
                    labels[dst] = labels[src]
                    del labels[src]
                continue
            if snapshot is None:
                snapshot = dict(labels)
            try:
                labels[dst] = src.render(snapshot, rec.line)
            except ValueError as err:
                rec = rec.with_error("TemplateFormatErr", str(err))
        return rec.with_labels(labels)

    return stage


def _drop_keep(node: ast.DropKeep) -> Stage:
    items = node.items

    def drop(rec: Rec) -> Rec:
        labels, err, details = dict(rec.labels), rec.err, rec.details
        for name, matcher in items:
            if name == ERROR:
                if matcher is None or matcher.matches(err):
                    err = ""
            elif name == ERROR_DETAILS:
                if matcher is None or matcher.matches(details):
                    details = ""
            elif name in labels and (matcher is None or matcher.matches(labels[name])):
                del labels[name]
        return Rec(rec.line, labels, rec.base, err, details)

    def keep(rec: Rec) -> Rec:
        kept = {}
        for name, value in rec.labels.items():
            for want, matcher in items:
                if want == name and (matcher is None or matcher.matches(value)):
                    kept[name] = value
                    break
        return rec.with_labels(kept)

    return keep if node.keep else drop


def compile_stage(node, needed: frozenset | None = None) -> Stage:
    """One AST stage as a function; `needed` limits what `| json` extracts (parser hints)."""
    if isinstance(node, ast.LineFilter):
        return _line_filter(node)
    if isinstance(node, ast.JsonStage):
        return _json_expr_stage(node.exprs) if node.exprs else _json_stage(needed)
    if isinstance(node, ast.LogfmtStage):
        return _logfmt_stage()
    if isinstance(node, ast.LabelFilterStage):
        return _label_filter_stage(node)
    if isinstance(node, ast.LineFormat):
        return _line_format(node)
    if isinstance(node, ast.LabelFormat):
        return _label_format(node)
    if isinstance(node, ast.DropKeep):
        return _drop_keep(node)
    raise UnsupportedLogQL(f"pipeline stage {type(node).__name__}")


def unwrap_extractor(unwrap: ast.Unwrap) -> Callable[[Rec], "tuple[float, Rec] | None"]:
    """Loki's label sample extractor: skip lines without the label, convert, set
    __error__=SampleExtractionErr on failure, then apply the post-unwrap label filters."""
    convert = {"": go_parse_float, "duration": lambda v: go_parse_duration(v) / 1e9,
               "bytes": lambda v: float(parse_bytes(v))}[unwrap.conversion]
    post = [_label_filter_stage(f) for f in unwrap.post_filters]
    name = unwrap.label

    def extract(rec: Rec):
        raw = rec.labels.get(name, "")
        if raw == "":
            return None
        try:
            value = convert(raw)
        except ValueError as err:
            value, rec = 0.0, rec.with_error("SampleExtractionErr", str(err))
        for stage in post:
            rec = stage(rec)
            if rec is None:
                return None
        return value, rec

    return extract
