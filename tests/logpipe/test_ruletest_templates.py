"""Alert templates: Prometheus' functions and Go's printing, checked against values promtool 2.42 printed
and, differentially, against the real promtool (Debian's `prometheus` package, installed by `make setup`)."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from logpipe.ruletest.gotemplate import Template, TemplateData, TemplateError, expand_or_error

ANNOTATION = ('{{ $value }}|{{ $labels.missing }}|{{ printf "%d|%s|%g|%v|%e|%5.1f" $value $value $value '
              '$value $value $value }}|{{ $labels }}')
HUMANIZE = ('{{ $value | humanize }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}|'
            '{{ humanize 0 }}|{{ humanizeDuration 0.0015 }}|{{ humanize 0.000123 }}|'
            '{{ humanizeDuration 90061 }}|{{ printf "%d %q" 5 "a" }}')


def render(text: str, value: float, labels: dict[str, str] | None = None, external: dict[str, str] | None = None) -> str:
    return Template(text).expand(TemplateData(labels or {}, value, external or {}))


@pytest.mark.parametrize(("value", "expected"), [
    # promtool 2.42 printed these for the same templates and values
    (1234567.0, "1.234567e+06||%!d(float64=1.234567e+06)|%!s(float64=1.234567e+06)|1.234567e+06|"
                "1.234567e+06|1.234567e+06|1234567.0|map[__name__:v i:1]"),
    (0.1, "0.1||%!d(float64=0.1)|%!s(float64=0.1)|0.1|0.1|1.000000e-01|  0.1|map[__name__:v i:1]"),
])
def test_value_printing_and_printf_match_promtool(value: float, expected: str) -> None:
    assert render(ANNOTATION, value, {"__name__": "v", "i": "1"}) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (1234567.0, '1.235M|14d 6h 56m 7s|1.235e+08%|0|1.5ms|123u|1d 1h 1m 1s|5 "a"'),
    (0.1, '100m|100ms|10%|0|1.5ms|123u|1d 1h 1m 1s|5 "a"'),
    (-5.5, '-5.5|-5.5s|-550%|0|1.5ms|123u|1d 1h 1m 1s|5 "a"'),
])
def test_humanize_functions_match_promtool(value: float, expected: str) -> None:
    assert render(HUMANIZE, value) == expected


def test_labels_external_labels_and_trimming() -> None:
    text = "{{- $labels.env -}} / {{ .Labels.env }} in {{ $externalLabels.cluster }}{{/* note */}} {{ .Value }}"
    assert render(text, 0.95, {"env": "prod"}, {"cluster": "c1"}) == "prod/ prod in c1 0.95"


@pytest.mark.parametrize(("text", "message"), [
    ("{{ if $value }}x{{ end }}", "template action {{ if }} is not supported"),
    ('{{ title "a" }}', 'function "title" is not supported'),
    ("{{ $foo }}", 'undefined variable "$foo"'),
    ("{{ .Foo }}", "field .Foo is not supported"),
    ("{{ $value ", "unclosed action"),
])
def test_unsupported_templates_are_refused_at_parse(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace("{", r"\{").replace("$", r"\$")):
        Template(text)


def test_failing_function_expands_to_prometheus_error_text() -> None:
    out = expand_or_error(Template("{{ humanize $labels.x }}"), TemplateData({"x": "abc"}, 1.0, {}))
    assert out.startswith("<error expanding template: error calling humanize: ")


VALUES = [0.0, 1.0, 0.95, 1234567.0, 123456.0, 0.000123, 1e-9, 59.99, 3600.5, 86400 * 3 + 7.25, -0.5, 1e21, 2.5e-5]
DIFF_TEMPLATES = {
    "v": "{{ $value }}",
    "h": "{{ humanize $value }}",
    "d": "{{ humanizeDuration $value }}",
    "p": "{{ $value | humanizePercentage }}",
    "f": '{{ printf "%.2f|%08.3f|%-6.1f|%+.3e|%g|%G|%v|%s|%5s" $value $value $value $value $value $value $value $labels.i $labels.i }}',
}


def test_expansion_agrees_with_real_promtool(tmp_path: Path) -> None:
    """Our expansions are the expected annotations of a promtool test: promtool must pass it."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run `make setup` (Debian package prometheus)"
    rules = {"groups": [{"name": "g", "rules": [
        {"alert": "A", "expr": "v", "annotations": DIFF_TEMPLATES}]}]}
    exp_alerts = []
    series = []
    for i, value in enumerate(VALUES):
        series.append({"series": f'v{{i="{i}"}}', "values": repr(value) if value >= 0 else f"{value!r}"})
        data = TemplateData({"__name__": "v", "i": str(i)}, value, {})
        exp_alerts.append({"exp_labels": {"i": str(i)},
                           "exp_annotations": {k: Template(t).expand(data) for k, t in DIFF_TEMPLATES.items()}})
    test = {"rule_files": ["rules.yml"], "tests": [{"interval": "1m", "input_series": series,
            "alert_rule_test": [{"eval_time": "0m", "alertname": "A", "exp_alerts": exp_alerts}]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    proc = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
