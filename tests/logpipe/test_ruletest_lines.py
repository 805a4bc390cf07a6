"""Input lines of a test file: offsets, the repeat form, JSON records with timestamps, `{{ .i }}`."""
import json
import textwrap
from pathlib import Path

from logpipe.ruletest.testfile import load_test_file, rfc3339

MIN = 60 * 10**9


def load(tmp_path: Path, lines: str, interval: str = "") -> list:
    (tmp_path / "rules.yml").write_text("groups: []\n")
    (tmp_path / "t.yml").write_text(textwrap.dedent(f"""\
        rule_files: [rules.yml]
        tests:
          - {interval}
            input_streams:
              - labels: '{{app="basecamp-integration", level="INFO"}}'
                lines:
        """) + textwrap.indent(textwrap.dedent(lines), " " * 10))
    return load_test_file(tmp_path / "t.yml").tests[0].lines


def test_json_line_gets_timestamp_first_compact(tmp_path: Path) -> None:
    (line,) = load(tmp_path, "- {at: 5m, line: {level: INFO, event: basecamp_status_check, metadata: {n: 1}}}\n")
    assert line.ts_ns == 5 * MIN
    assert line.labels == {"app": "basecamp-integration", "level": "INFO"}
    assert line.line == ('{"timestamp":"1970-01-01T00:05:00.000000Z","level":"INFO",'
                         '"event":"basecamp_status_check","metadata":{"n":1}}')


def test_repeat_with_every_and_index_template(tmp_path: Path) -> None:
    lines = load(tmp_path, "- {at: 1m, repeat: 3, every: 30s, line: {user_id: 'u{{ .i }}'}}\n")
    assert [line.ts_ns for line in lines] == [60 * 10**9, 90 * 10**9, 120 * 10**9]
    assert [json.loads(line.line)["user_id"] for line in lines] == ["u0", "u1", "u2"]
    assert json.loads(lines[1].line)["timestamp"] == "1970-01-01T00:01:30.000000Z"


def test_repeat_step_defaults_to_the_test_interval(tmp_path: Path) -> None:
    lines = load(tmp_path, "- {at: 0s, repeat: 3, line: 'raw {{.i}}'}\n", interval="interval: 2m")
    assert [(line.ts_ns, line.line) for line in lines] == [(0, "raw 0"), (2 * MIN, "raw 1"), (4 * MIN, "raw 2")]


def test_rfc3339_keeps_microseconds() -> None:
    assert rfc3339(1_500_000_000 + 123_456_789) == "1970-01-01T00:00:01.623456Z"
