"""vector.yaml: wiring, delivery guarantees, labels, and its `tests:` block checked through pyvrl."""
import re
from pathlib import Path
from typing import Any

import pytest
import pyvrl
import yaml

from logpipe.vector.remap import LABELS_FIELD, VRL_PATH, transform

VECTOR_DIR = VRL_PATH.parent
CONFIG: dict[str, Any] = yaml.safe_load((VECTOR_DIR / "vector.yaml").read_text())
CONTAINER_DIR = "/etc/vector"  # where docker-compose.yml mounts logpipe/vector/
MIN_DISK_BUFFER = 268435488  # Vector's documented minimum `max_size` for a disk buffer
SOURCE, TRANSFORM = CONFIG["sources"]["app_events"], CONFIG["transforms"]["fr016"]
LOKI, DEAD_LETTER = CONFIG["sinks"]["loki"], CONFIG["sinks"]["dead_letter"]


def test_file_source_feeds_the_remap_which_feeds_loki_and_the_dead_letter() -> None:
    assert SOURCE["type"] == "file" and SOURCE["include"]
    assert CONFIG["data_dir"]  # file source checkpoints
    assert TRANSFORM["type"] == "remap" and TRANSFORM["inputs"] == ["app_events"]
    assert LOKI["type"] == "loki" and LOKI["inputs"] == ["fr016"]
    assert DEAD_LETTER["type"] == "file" and DEAD_LETTER["inputs"] == ["fr016.dropped"]


def test_remap_runs_the_vrl_file_and_reroutes_what_it_drops() -> None:
    assert TRANSFORM["file"] == f"{CONTAINER_DIR}/{VRL_PATH.name}" and "source" not in TRANSFORM
    assert TRANSFORM["drop_on_abort"] is True and TRANSFORM["drop_on_error"] is True
    assert TRANSFORM["reroute_dropped"] is True


def test_loki_sink_is_at_least_once() -> None:
    assert LOKI["buffer"]["type"] == "disk"
    assert LOKI["buffer"]["max_size"] >= MIN_DISK_BUFFER
    assert LOKI["buffer"]["when_full"] == "block"
    assert LOKI["acknowledgements"]["enabled"] is True
    assert DEAD_LETTER["acknowledgements"]["enabled"] is True
    assert LOKI["out_of_order_action"] == "accept"


def test_loki_line_is_the_whole_record_as_json() -> None:
    assert LOKI["encoding"]["codec"] == "json"
    assert LOKI["encoding"]["except_fields"] == [LABELS_FIELD]
    assert LOKI["remove_timestamp"] is False


def test_loki_labels_are_exactly_the_four_from_the_remap() -> None:
    assert LOKI["labels"] == {key: f"{{{{ {LABELS_FIELD}.{key} }}}}" for key in ("app", "env", "level", "event")}


def test_every_interpolated_variable_has_a_default() -> None:
    """Vector interpolates the raw text, comments included: every reference needs a default."""
    text = (VECTOR_DIR / "vector.yaml").read_text()
    references = re.findall(r"\$\{([^}]*)\}", text)
    assert references
    assert all(re.fullmatch(r"[A-Z_]+:-\S+", ref) for ref in references), references


def _unit_tests() -> list[dict[str, Any]]:
    return CONFIG["tests"]


def _port_of(event: dict[str, Any]) -> str:
    """Where Vector would emit the event: `fr016`, or `fr016.dropped` when the program aborts."""
    try:
        transform().remap(dict(event))
    except ValueError:
        return "fr016.dropped"
    return "fr016"


@pytest.mark.parametrize("case", _unit_tests(), ids=lambda case: case["name"])
def test_vector_unit_test_agrees_with_pyvrl(case: dict[str, Any]) -> None:
    """Each `tests:` case: same input through pyvrl lands on the expected output and passes its conditions."""
    (given,) = case["inputs"]
    assert given["insert_at"] == "fr016" and given["type"] == "log"
    event = given["log_fields"]
    port = _port_of(event)
    (expected,) = case["outputs"]
    assert expected["extract_from"] == port
    assert ("fr016" in case.get("no_outputs_from", [])) == (port == "fr016.dropped")
    for condition in expected["conditions"]:
        assert condition["type"] == "vrl"
        # A condition sees the event as the transform left it: run it right after the program.
        program = condition["source"] if port == "fr016.dropped" else f"{VRL_PATH.read_text()}\n{condition['source']}"
        assert pyvrl.Transform(program).remap(dict(event)) is True


def test_unit_tests_cover_records_and_dead_letters() -> None:
    ports = {case["outputs"][0]["extract_from"] for case in _unit_tests()}
    assert ports == {"fr016", "fr016.dropped"}


def test_vrl_file_is_in_the_repo_where_compose_mounts_it() -> None:
    assert Path(TRANSFORM["file"]).name == VRL_PATH.name and VRL_PATH.is_file()
