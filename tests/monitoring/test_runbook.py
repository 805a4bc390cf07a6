"""The runbook has a section, with the spec's steps and the rule's LogQL, for every alert."""
import re

import yaml

from logpipe.monitoring import config


def test_every_runbook_url_has_its_anchor_and_section() -> None:
    text = config.RUNBOOK_FILE.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    doc = yaml.safe_load(config.ALERTS_FILE.read_text(encoding="utf-8"))
    for rule in (r for g in doc["groups"] for r in g["rules"]):
        base, anchor = rule["annotations"]["runbook_url"].split("#")
        assert base == config.RUNBOOK_URL
        assert anchor in anchors
        section = text.split(f'<a id="{anchor}"></a>')[1].split("<a id=")[0]
        assert f"## {rule['alert']}\n" in section
        assert rule["expr"] in section
        for part in ("**Meaning**", "**Investigation**", "**Resolution**", "**Escalation**"):
            assert part in section, (anchor, part)


def test_escalation_follows_the_spec() -> None:
    text = config.RUNBOOK_FILE.read_text(encoding="utf-8")
    escalation = text.split("## Escalation\n")[1].split("<a id=")[0]
    for step in ("Immediate notification".lower(), "15 min", "secondary on-call", "1 hour",
                 "engineering lead"):
        assert step in escalation.lower()
