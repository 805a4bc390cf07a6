"""Finds the repo's LogQL expressions: rule files, rule test files, Grafana dashboards, Python catalogues.

- YAML with `groups`: each `groups[].rules[].expr` (Loki ruler files);
- YAML with `rule_files` and `tests`: each `tests[].logql_expr_test[].expr` that is LogQL (a bare
  recording-rule name such as `job:x:rate5m{a="b"}` is not);
- JSON dashboards (`panels`, nested in rows too): `targets[].expr` whose datasource, the target's or
  else the panel's, is Loki (`uid: loki` or `type: loki`);
- Python modules that assign a module-level `LOGQL_QUERIES: Mapping[str, str]`: found by reading the
  source (never by importing everything); only those modules are imported.
"""
import ast
import importlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from logpipe.ruletest.labels import RECORD_REF

SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", "var", "instance"}
HOOK = "LOGQL_QUERIES"


@dataclass(frozen=True)
class Found:
    """One expression and where it is: `file` and a location inside it (a key path, maybe a line)."""

    file: Path
    where: str
    expr: str


@dataclass(frozen=True)
class Problem:
    """A file that could not be read for expressions."""

    file: Path
    message: str


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
            continue
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(names):
                yield Path(root) / name


def _scalars(node: yaml.Node, keypath: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], yaml.ScalarNode]]:
    """Every scalar of a composed YAML document with its key path."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(value, (*keypath, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            yield from _scalars(value, (*keypath, i))
    elif isinstance(node, yaml.ScalarNode):
        yield keypath, node


def _dotted(keypath: tuple[Any, ...]) -> str:
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keypath).lstrip(".")


def from_yaml(path: Path) -> list[Found]:
    """Expressions of a Loki rule file or a rule test file; other YAML gives none."""
    out = []
    for node in yaml.compose_all(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader):
        if isinstance(node, yaml.MappingNode):
            out.extend(_from_yaml_doc(path, node))
    return out


def _from_yaml_doc(path: Path, node: yaml.MappingNode) -> list[Found]:
    keys = {k.value for k, _ in node.value}
    out = []
    for keypath, scalar in _scalars(node):
        is_rule = "groups" in keys and len(keypath) == 5 and keypath[::2] == ("groups", "rules", "expr")
        is_test = {"tests", "rule_files"} <= keys and len(keypath) == 5 and \
            keypath[::2] == ("tests", "logql_expr_test", "expr") and not RECORD_REF.fullmatch(scalar.value)
        if is_rule or is_test:
            out.append(Found(path, f"line {scalar.start_mark.line + 1} ({_dotted(keypath)})", scalar.value))
    return out


def _is_loki(datasource: Any) -> bool:
    if isinstance(datasource, Mapping):
        return datasource.get("uid") == "loki" or datasource.get("type") == "loki"
    return isinstance(datasource, str) and datasource.lower() == "loki"


def _panels(panels: Any, prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for i, panel in enumerate(panels if isinstance(panels, list) else []):
        if isinstance(panel, Mapping):
            yield f"{prefix}[{i}]", panel
            yield from _panels(panel.get("panels"), f"{prefix}[{i}].panels")


def from_dashboard(path: Path) -> list[Found]:
    """`targets[].expr` of a Grafana dashboard's Loki panels; JSON that is no dashboard gives none."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(doc, Mapping) and isinstance(doc.get("dashboard"), Mapping):
        doc = doc["dashboard"]  # the HTTP API's export form
    if not isinstance(doc, Mapping) or "panels" not in doc:
        return []
    out = []
    for where, panel in _panels(doc["panels"], "panels"):
        for j, target in enumerate(panel.get("targets") or []):
            if not isinstance(target, Mapping) or not isinstance(target.get("expr"), str):
                continue
            datasource = target.get("datasource") or panel.get("datasource")
            if _is_loki(datasource):
                title = panel.get("title", "")
                out.append(Found(path, f"{where}.targets[{j}] (panel {title!r}, refId {target.get('refId', '?')})",
                                 target["expr"]))
    return out


def _declares_hook(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return False
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == HOOK for t in targets):
            return True
    return False


def from_python(path: Path, root: Path) -> list[Found]:
    """The `LOGQL_QUERIES` of a module under root that assigns it at module level."""
    if not _declares_hook(path):
        return []
    rel = path.resolve().relative_to(root.resolve()).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    module = importlib.import_module(".".join(parts))
    queries = getattr(module, HOOK)
    if not isinstance(queries, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in queries.items()):
        raise TypeError(f"{module.__name__}.{HOOK} must be a Mapping[str, str]")
    return [Found(path, f"{module.__name__}.{HOOK}[{name!r}]", expr) for name, expr in queries.items()]


def discover(paths: list[Path], root: Path) -> tuple[list[Found], list[Problem]]:
    """Every expression under paths (root: the folder Python modules are imported from)."""
    found: list[Found] = []
    problems: list[Problem] = []
    for path in _files(paths):
        try:
            if path.suffix in (".yml", ".yaml"):
                found.extend(from_yaml(path))
            elif path.suffix == ".json":
                found.extend(from_dashboard(path))
            elif path.suffix == ".py" and path.resolve().is_relative_to(root.resolve()):
                found.extend(from_python(path, root))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
            problems.append(Problem(path, f"cannot read: {exc}"))
        except Exception as exc:  # noqa: BLE001 - importing a module can fail in any way; report it
            problems.append(Problem(path, f"cannot import its {HOOK}: {type(exc).__name__}: {exc}"))
    return found, problems
