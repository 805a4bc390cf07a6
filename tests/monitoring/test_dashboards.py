"""Both dashboards: the spec's panels and visualisations, Loki queries that return data,
and the alert thresholds."""
import json

import pytest

from logpipe.logql import LogStore, instant_query, parse_time, range_query
from logpipe.monitoring import config
from logpipe.monitoring import queries as q

from .conftest import END

HEALTH = config.DASHBOARD_DIR / "basecamp-integration-health.json"
OAUTH = config.DASHBOARD_DIR / "oauth-flow-details.json"
#: The spec's panels: title → (panel type, draw style of a timeseries or None).
HEALTH_PANELS = {
    "Token Refresh Success Rate": ("timeseries", "line"),
    "OAuth Flow Completion Rate": ("timeseries", "line"),
    "Active Connections": ("gauge", None),
    "Expired Accounts": ("gauge", None),
    "Error Rate by Type": ("timeseries", "line"),
    "API Response Times P50/P95/P99": ("timeseries", "line"),
    "Rate Limit Hits": ("timeseries", "bars"),
}
OAUTH_PANELS = {
    "OAuth Flow Duration Distribution": ("histogram", None),
    "Connection Success/Failure by Hour": ("heatmap", None),
    "Recent Failed Connections": ("table", None),
    "State Validation Failures": ("stat", None),
    "Session Expiration Rate": ("timeseries", "line"),
}


def _load(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _panels(path) -> dict[str, dict]:
    return {p["title"]: p for p in _load(path)["panels"]}


@pytest.mark.parametrize("path, uid, title, spec", [
    (HEALTH, "basecamp-integration-health", "Basecamp Integration Health", HEALTH_PANELS),
    (OAUTH, "basecamp-oauth-flow-details", "OAuth Flow Details", OAUTH_PANELS),
])
def test_dashboard_has_the_spec_panels(path, uid, title, spec) -> None:
    board = _load(path)
    assert (board["uid"], board["title"]) == (uid, title)
    panels = _panels(path)
    assert set(panels) == set(spec)
    for name, (kind, draw) in spec.items():
        panel = panels[name]
        assert panel["type"] == kind, name
        custom = panel["fieldConfig"]["defaults"].get("custom", {})
        if draw:
            assert custom.get("drawStyle") == draw, name
        assert panel["datasource"] == {"type": "loki", "uid": "loki"}
        assert panel["targets"] and all(t["datasource"]["uid"] == "loki" for t in panel["targets"])


def test_visual_details_of_the_health_panels() -> None:
    panels = _panels(HEALTH)
    errors = panels["Error Rate by Type"]["fieldConfig"]["defaults"]["custom"]
    assert errors["stacking"]["mode"] == "normal" and errors["fillOpacity"] > 0
    assert panels["Rate Limit Hits"]["timeFrom"] == "7d"
    legends = [t["legendFormat"] for t in panels["API Response Times P50/P95/P99"]["targets"]]
    assert {"API p50", "API p95", "API p99"} <= set(legends)


def _steps(panel: dict) -> list[tuple[float | None, str]]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [(s["value"], s["color"]) for s in steps]


def test_thresholds_are_the_alert_numbers() -> None:
    health = _panels(HEALTH)
    assert _steps(health["Token Refresh Success Rate"]) == [
        (None, "red"), (q.REFRESH_SUCCESS_RATE.threshold(q.CRITICAL).number, "yellow"),
        (q.REFRESH_SUCCESS_RATE.threshold(q.WARNING).number, "green")]
    assert _steps(health["Expired Accounts"]) == [
        (None, "green"), (q.EXPIRED_ACCOUNTS_PERCENT.threshold(q.WARNING).number, "yellow"),
        (q.EXPIRED_ACCOUNTS_PERCENT.threshold(q.CRITICAL).number, "red")]
    # counts: "> 0" colours from 1, "≥ 10" from 10
    assert _steps(health["Rate Limit Hits"]) == [(None, "green"), (1, "yellow"), (10, "red")]


def _targets():
    for path in (HEALTH, OAUTH):
        for panel in _load(path)["panels"]:
            for target in panel["targets"]:
                yield pytest.param(panel, target, id=f"{panel['title']}/{target['refId']}")


@pytest.mark.parametrize("panel, target", list(_targets()))
def test_every_panel_query_returns_data(panel: dict, target: dict,
                                        busy_hour_store: LogStore) -> None:
    """Over the busy hour, as Grafana asks: instant at its end, or a range at the panel's step."""
    end = parse_time(END)
    if target["queryType"] == "instant":
        result = instant_query(busy_hour_store, target["expr"], end)
        assert result.samples, target["expr"]
        return
    step = {"1h": 3600, "1m": 60}.get(panel.get("interval", "1m")) * 10**9
    result = range_query(busy_hour_store, target["expr"], end - 3600 * 10**9, end, step)
    if result.result_type == "streams":
        assert result.streams, target["expr"]
    else:
        assert any(series.points for series in result.series), target["expr"]
