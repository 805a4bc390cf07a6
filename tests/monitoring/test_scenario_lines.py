"""Every line of every rule test is an FR-016 record valid against the app's schema."""
import json

import jsonschema
import pytest
import yaml

from app.events.schema import SCHEMA_PATH
from logpipe.monitoring import config

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
#: The runner sets `timestamp` from `at`; any valid RFC 3339 value stands in for it here.
TIMESTAMP = "1970-01-01T00:05:00.000000Z"


def _lines():
    for path in sorted(config.RULE_TEST_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for test in doc["tests"]:
            for stream in test["input_streams"]:
                for n, item in enumerate(stream["lines"]):
                    yield pytest.param(stream["labels"], item["line"],
                                       id=f"{path.name}:{test['name']}:{n}")


@pytest.mark.parametrize("labels, line", list(_lines()))
def test_line_is_a_valid_fr016_record_in_its_stream(labels: str, line: dict) -> None:
    jsonschema.validate({"timestamp": TIMESTAMP, **line}, SCHEMA)
    assert f'level="{line["level"]}"' in labels and f'event="{line["event"]}"' in labels


def test_there_are_scenario_lines() -> None:
    assert len(list(_lines())) > 50
