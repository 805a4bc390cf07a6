"""Loki ruler rule files: `groups: [{name, interval, limit, rules: [{record|alert, expr, …}]}]`."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logpipe.logql import LogQLError, LogStore, instant_query, parse
from logpipe.ruletest import yamlfile
from logpipe.ruletest.errors import ConfigError
from logpipe.ruletest.gotemplate import Template, TemplateError
from logpipe.ruletest.labels import LABEL_NAME, METRIC_NAME

_GROUP_KEYS = ("name", "interval", "limit", "rules")
_RULE_KEYS = ("record", "alert", "expr", "for", "labels", "annotations")
_UNSUPPORTED = {"keep_firing_for", "query_offset"}


@dataclass(frozen=True)
class Rule:
    """One recording or alerting rule; `name` is the record or alert name."""

    kind: str  # "record" or "alert"
    name: str
    expr: str
    hold_ns: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    label_templates: dict[str, Template] = field(default_factory=dict, compare=False)
    annotation_templates: dict[str, Template] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Group:
    """A rule group; `interval_ns` is None when the file sets none (the default applies)."""

    name: str
    file: Path
    rules: tuple[Rule, ...]
    interval_ns: int | None = None
    limit: int = 0


def check_metric_query(expr: str, where: str) -> None:
    """Our parser must accept expr, and it must be a metric query (Loki's ruler refuses log queries)."""
    try:
        parse(expr)
        result_type = instant_query(LogStore([]), expr, 0).result_type
    except LogQLError as exc:
        raise ConfigError(f"{where}: expr {expr!r}: {exc}") from None
    if result_type == "streams":
        raise ConfigError(f"{where}: expr {expr!r} is a log query; Loki's ruler only accepts metric queries")


def _string_map(value: Any, where: str, name_kind: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of {name_kind}s to strings")
    out = {}
    for key, val in value.items():
        if not isinstance(key, str) or not LABEL_NAME.fullmatch(key) or key == "__name__":
            raise ConfigError(f"{where}: invalid {name_kind} name {key!r}")
        if isinstance(val, bool) or not isinstance(val, (str, int, float)):
            raise ConfigError(f"{where}: {name_kind} {key!r} must be a string")
        out[key] = val if isinstance(val, str) else str(val)
    return out


def _templates(values: dict[str, str], where: str) -> dict[str, Template]:
    out = {}
    for key, text in values.items():
        try:
            out[key] = Template(text)
        except TemplateError as exc:
            raise ConfigError(f"{where}: template {key!r}: {exc}") from None
    return out


def _rule(raw: Any, where: str) -> Rule:
    if isinstance(raw, dict):
        for key in raw:
            if key in _UNSUPPORTED:
                raise ConfigError(f"{where}: key {key!r} is not supported by logpipe")
    rule = yamlfile.mapping(raw, where, _RULE_KEYS, ("expr",))
    if ("record" in rule) == ("alert" in rule):
        raise ConfigError(f"{where}: a rule sets exactly one of 'record' and 'alert'")
    kind = "record" if "record" in rule else "alert"
    name = yamlfile.string(rule[kind], f"{where}: {kind}")
    where = f"{where} ({kind} {name})"
    if kind == "record":
        if not METRIC_NAME.fullmatch(name):
            raise ConfigError(f"{where}: invalid recording rule name {name!r} (must match {METRIC_NAME.pattern})")
        for key in ("for", "annotations"):
            if key in rule:
                raise ConfigError(f"{where}: invalid field {key!r} in a recording rule")
    expr = yamlfile.string(rule["expr"], f"{where}: expr")
    check_metric_query(expr, where)
    labels = _string_map(rule.get("labels"), f"{where}: labels", "label")
    annotations = _string_map(rule.get("annotations"), f"{where}: annotations", "annotation")
    return Rule(
        kind=kind, name=name, expr=expr,
        hold_ns=yamlfile.duration(rule.get("for", 0), f"{where}: for"),
        labels=labels, annotations=annotations,
        label_templates=_templates(labels, f"{where}: labels") if kind == "alert" else {},
        annotation_templates=_templates(annotations, f"{where}: annotations"),
    )


def load_rule_file(path: Path) -> list[Group]:
    """Parse and validate a Loki ruler file; ConfigError names the file, group and rule at fault."""
    doc = yamlfile.mapping(yamlfile.load(path), str(path), ("groups",), ("groups",))
    groups: list[Group] = []
    for gi, raw in enumerate(yamlfile.sequence(doc["groups"], f"{path}: groups")):
        where = f"{path}: groups[{gi}]"
        group = yamlfile.mapping(raw, where, _GROUP_KEYS, ("name", "rules"))
        name = yamlfile.string(group["name"], f"{where}: name")
        where = f"{path}: group {name!r}"
        if any(g.name == name for g in groups):
            raise ConfigError(f"{where}: group name repeated in the same file")
        limit = group.get("limit", 0)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ConfigError(f"{where}: limit must be a non-negative integer")
        interval = None
        if "interval" in group:
            interval = yamlfile.duration(group["interval"], f"{where}: interval")
            if interval == 0:
                raise ConfigError(f"{where}: interval must be positive")
        rules = tuple(_rule(r, f"{where}: rules[{ri}]")
                      for ri, r in enumerate(yamlfile.sequence(group["rules"], f"{where}: rules")))
        groups.append(Group(name=name, file=path, rules=rules, interval_ns=interval, limit=limit))
    return groups
