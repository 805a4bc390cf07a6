"""The rule test file format (see FORMAT.md): rule files, input streams and expected results."""
import glob
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from logpipe.ruletest import yamlfile
from logpipe.ruletest.errors import ConfigError
from logpipe.ruletest.labels import parse_labels

DEFAULT_INTERVAL_NS = 60 * 10**9
_TOP_KEYS = ("rule_files", "evaluation_interval", "tests")
_GROUP_KEYS = ("name", "interval", "input_streams", "logql_expr_test", "alert_rule_test",
               "external_labels", "external_url")
_INDEX = re.compile(r"\{\{-?\s*\.i\s*-?\}\}")
_SPECIAL_VALUES = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}


@dataclass(frozen=True)
class ExprTest:
    """A `logql_expr_test` case; `exp_samples` holds (labels, value) pairs."""

    expr: str
    eval_ns: int
    exp_samples: list[tuple[dict[str, str], float]]


@dataclass(frozen=True)
class AlertTest:
    """An `alert_rule_test` case; `exp_alerts` holds (labels, annotations) pairs."""

    eval_ns: int
    alertname: str
    exp_alerts: list[tuple[dict[str, str], dict[str, str]]]


@dataclass(frozen=True)
class LogLine:
    """One input log line: time since the origin (Unix epoch), stream labels and the line text."""

    ts_ns: int
    labels: dict[str, str]
    line: str


@dataclass(frozen=True)
class UnitTestGroup:
    """One entry of `tests`."""

    name: str
    lines: list[LogLine]
    expr_tests: list[ExprTest] = field(default_factory=list)
    alert_tests: list[AlertTest] = field(default_factory=list)
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""

    @property
    def test_count(self) -> int:
        """How many test cases the group holds."""
        return len(self.expr_tests) + len(self.alert_tests)


@dataclass(frozen=True)
class UnitTestFile:
    """A parsed test file; rule file paths are resolved against the test file's folder."""

    path: Path
    rule_files: list[Path]
    evaluation_interval_ns: int
    tests: list[UnitTestGroup]


def rfc3339(ts_ns: int) -> str:
    """RFC 3339 UTC with microseconds and `Z`, as the app writes `timestamp`."""
    moment = datetime.fromtimestamp(ts_ns // 10**9, tz=timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ts_ns % 10**9 // 1000:06d}Z"


def _fill(text: str, index: int, where: str) -> str:
    filled = _INDEX.sub(str(index), text)
    if "{{" in filled:
        raise ConfigError(f"{where}: line templates support only {{{{ .i }}}} (the repeat index)")
    return filled


def _fill_json(value: Any, index: int, where: str) -> Any:
    if isinstance(value, str):
        return _fill(value, index, where)
    if isinstance(value, dict):
        return {k: _fill_json(v, index, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, index, where) for v in value]
    return value


def _render(line: Any, ts_ns: int, index: int, where: str) -> str:
    if isinstance(line, str):
        return _fill(line, index, where)
    if not isinstance(line, dict):
        raise ConfigError(f"{where}: line must be a JSON object (a mapping) or a string")
    if "timestamp" in line:
        raise ConfigError(f"{where}: line sets 'timestamp'; it is set from 'at' (use a string line to write one)")
    record = {"timestamp": rfc3339(ts_ns), **_fill_json(line, index, where)}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _stream(raw: Any, where: str, interval_ns: int) -> list[LogLine]:
    stream = yamlfile.mapping(raw, where, ("labels", "lines"), ("labels", "lines"))
    try:
        labels = parse_labels(yamlfile.string(stream["labels"], f"{where}: labels"))
    except ValueError as exc:
        raise ConfigError(f"{where}: labels: {exc}") from None
    if not labels or "__name__" in labels:
        raise ConfigError(f"{where}: labels must be a non-empty stream selector such as '{{app=\"x\"}}'")
    out = []
    for li, raw_line in enumerate(yamlfile.sequence(stream["lines"], f"{where}: lines")):
        lw = f"{where}: lines[{li}]"
        spec = yamlfile.mapping(raw_line, lw, ("at", "line", "repeat", "every"), ("at", "line"))
        at = yamlfile.duration(spec["at"], f"{lw}: at")
        repeat = spec.get("repeat", 1)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ConfigError(f"{lw}: repeat must be a positive integer")
        if "every" in spec and "repeat" not in spec:
            raise ConfigError(f"{lw}: 'every' needs 'repeat'")
        every = yamlfile.duration(spec["every"], f"{lw}: every") if "every" in spec else interval_ns
        for i in range(repeat):
            ts = at + i * every
            out.append(LogLine(ts, labels, _render(spec["line"], ts, i, lw)))
    return out


def _value(raw: Any, where: str) -> float:
    if isinstance(raw, str) and raw.lower() in _SPECIAL_VALUES:
        return _SPECIAL_VALUES[raw.lower()]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ConfigError(f"{where}: value must be a number (or NaN, +Inf, -Inf)")
    return float(raw)


def _expr_test(raw: Any, where: str) -> ExprTest:
    case = yamlfile.mapping(raw, where, ("expr", "eval_time", "exp_samples"), ("expr", "eval_time"))
    samples = []
    for si, raw_sample in enumerate(yamlfile.sequence(case.get("exp_samples"), f"{where}: exp_samples")):
        sw = f"{where}: exp_samples[{si}]"
        sample = yamlfile.mapping(raw_sample, sw, ("labels", "value"), ("value",))
        try:
            labels = parse_labels(sample.get("labels") or "{}")
        except ValueError as exc:
            raise ConfigError(f"{sw}: labels: {exc}") from None
        samples.append((labels, _value(sample["value"], f"{sw}: value")))
    return ExprTest(yamlfile.string(case["expr"], f"{where}: expr"),
                    yamlfile.duration(case["eval_time"], f"{where}: eval_time"), samples)


def _string_map(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of names to strings")
    for key, value in raw.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: {key!r}: expected a string value")
    return {k: v if isinstance(v, str) else str(v) for k, v in raw.items()}


def _alert_test(raw: Any, where: str) -> AlertTest:
    case = yamlfile.mapping(raw, where, ("eval_time", "alertname", "exp_alerts"), ("eval_time", "alertname"))
    alertname = yamlfile.string(case["alertname"], f"{where}: alertname")
    alerts = []
    for ai, raw_alert in enumerate(yamlfile.sequence(case.get("exp_alerts"), f"{where}: exp_alerts")):
        aw = f"{where}: exp_alerts[{ai}]"
        alert = yamlfile.mapping(raw_alert, aw, ("exp_labels", "exp_annotations"))
        labels = _string_map(alert.get("exp_labels"), f"{aw}: exp_labels")
        labels["alertname"] = alertname
        alerts.append((labels, _string_map(alert.get("exp_annotations"), f"{aw}: exp_annotations")))
    return AlertTest(yamlfile.duration(case["eval_time"], f"{where}: eval_time"), alertname, alerts)


def _group(raw: Any, where: str, evaluation_interval_ns: int) -> UnitTestGroup:
    group = yamlfile.mapping(raw, where, _GROUP_KEYS)
    name = group.get("name") or ""
    if not isinstance(name, str):
        raise ConfigError(f"{where}: name must be a string")
    if name:
        where = f"{where} ({name})"
    interval = evaluation_interval_ns
    if group.get("interval") is not None:
        interval = yamlfile.duration(group["interval"], f"{where}: interval")
    lines = [line for si, s in enumerate(yamlfile.sequence(group.get("input_streams"), f"{where}: input_streams"))
             for line in _stream(s, f"{where}: input_streams[{si}]", interval)]
    external_url = group.get("external_url") or ""
    if not isinstance(external_url, str):
        raise ConfigError(f"{where}: external_url must be a string")
    return UnitTestGroup(
        name=name, lines=lines,
        expr_tests=[_expr_test(c, f"{where}: logql_expr_test[{i}]")
                    for i, c in enumerate(yamlfile.sequence(group.get("logql_expr_test"), f"{where}: logql_expr_test"))],
        alert_tests=[_alert_test(c, f"{where}: alert_rule_test[{i}]")
                     for i, c in enumerate(yamlfile.sequence(group.get("alert_rule_test"), f"{where}: alert_rule_test"))],
        external_labels=_string_map(group.get("external_labels"), f"{where}: external_labels"),
        external_url=external_url,
    )


def load_test_file(path: Path) -> UnitTestFile:
    """Parse and validate a rule test file; ConfigError says what is wrong and where."""
    raw = yamlfile.load(path)
    if isinstance(raw, dict) and "groups" in raw:
        raise ConfigError(f"{path}: this is a rule file; give a rule test file that lists it in rule_files "
                          "(see logpipe/ruletest/FORMAT.md)")
    doc = yamlfile.mapping(raw, str(path), _TOP_KEYS, ("rule_files", "tests"))
    interval = DEFAULT_INTERVAL_NS
    if doc.get("evaluation_interval") is not None:
        interval = yamlfile.duration(doc["evaluation_interval"], f"{path}: evaluation_interval")
        if interval == 0:
            raise ConfigError(f"{path}: evaluation_interval must be positive")
    rule_files = []
    for i, raw in enumerate(yamlfile.sequence(doc["rule_files"], f"{path}: rule_files")):
        pattern = yamlfile.string(raw, f"{path}: rule_files[{i}]")
        base = path.parent
        full = base / pattern
        matches = sorted(Path(m) for m in glob.glob(str(full))) if any(c in pattern for c in "*?[") else [full]
        if not matches or not all(m.is_file() for m in matches):
            raise ConfigError(f"{path}: rule_files[{i}]: no rule file {pattern!r} (relative to {base})")
        rule_files.extend(matches)
    tests = [_group(g, f"{path}: tests[{i}]", interval)
             for i, g in enumerate(yamlfile.sequence(doc["tests"], f"{path}: tests"))]
    return UnitTestFile(path, rule_files, interval, tests)
