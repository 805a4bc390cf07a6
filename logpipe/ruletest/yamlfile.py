"""Strict YAML reading for rule and test files: duplicate keys and unknown keys are errors."""
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from logpipe.logql import LogQLError, parse_duration
from logpipe.ruletest.errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (as Go's yaml.UnmarshalStrict does)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} repeated", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(path: Path) -> Any:
    """The YAML document at path; ConfigError when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # nosec B506 - _StrictLoader is a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None


def mapping(value: Any, where: str, allowed: Collection[str], required: Collection[str] = ()) -> dict[str, Any]:
    """Check that value is a mapping with only `allowed` keys and all `required` ones."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {_kind(value)}")
    for key in value:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            raise ConfigError(f"{where}: missing required key {key!r}")
    return value


def sequence(value: Any, where: str) -> list[Any]:
    """Check that value is a list (a missing one, None, is an empty list)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {_kind(value)}")
    return value


def string(value: Any, where: str) -> str:
    """Check that value is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


def duration(value: Any, where: str) -> int:
    """A Prometheus duration such as `5m` or `1h30m` (or the integer 0) in nanoseconds."""
    if value == 0 and not isinstance(value, bool):
        return 0
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a duration such as 5m, got {_kind(value)}")
    try:
        ns = parse_duration(value)
    except (LogQLError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid duration {value!r}: {exc}") from None
    if ns < 0:
        raise ConfigError(f"{where}: duration {value!r} is negative")
    return ns
