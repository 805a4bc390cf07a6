"""The two Grafana dashboards of the spec, built with grafana-foundation-sdk (Grafana 10.1).

Every panel queries Loki (datasource uid `loki`) with a query of `queries`, and colours by
the same thresholds the alerts use.
"""
import json
from typing import Any

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import (
    gauge, heatmap, histogram, loki, stat, table, timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef, DataTransformerConfig, GridPos, Threshold, ThresholdsMode,
)

from logpipe.monitoring import queries as q
from logpipe.monitoring.config import LOKI_UID
from logpipe.monitoring.model import COUNT, Measure, Severity

LOKI = DataSourceRef(type_val="loki", uid=LOKI_UID)
HEALTH_UID = "basecamp-integration-health"
OAUTH_UID = "basecamp-oauth-flow-details"
_COLOURS = {Severity.WARNING: "yellow", Severity.CRITICAL: "red"}


def target(expr: str, ref: str = "A", legend: str = "", instant: bool = False,
           logs: bool = False) -> loki.Dataquery:
    """A Loki query of the panel."""
    query = loki.Dataquery().expr(expr).ref_id(ref).datasource(LOKI)
    query = query.query_type("instant" if instant else "range")
    if legend:
        query = query.legend_format(legend)
    if logs:
        query = query.max_lines(100)
    return query


def thresholds(measure: Measure | None) -> dash_b.ThresholdsConfig:
    """Grafana steps matching the alert thresholds (a step colours values ≥ its number).

    Lower-is-bad: red below critical, yellow below warning, green above. Higher-is-bad:
    green, yellow from warning, red from critical; integer counts start the colour one past
    a `>` threshold so the threshold value itself stays green, as the alert does.
    """
    steps = [Threshold(value=None, color="green")]
    if measure and measure.thresholds:
        ordered = sorted(measure.thresholds, key=lambda t: t.number)
        if ordered[0].op == "<":
            above = {Severity.CRITICAL: "yellow", Severity.WARNING: "green"}
            steps = [Threshold(value=None, color="red")] + [
                Threshold(value=t.number, color=above[t.severity]) for t in ordered]
        else:
            steps += [Threshold(value=t.number + (1 if t.op == ">" and measure.unit is COUNT
                                                  else 0),
                                color=_COLOURS[t.severity]) for t in ordered]
    return dash_b.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)


def _place(panel: Any, x: int, y: int, w: int, h: int, measure: Measure | None,
           title: str, description: str) -> Any:
    return (panel.title(title).description(description).datasource(LOKI)
            .grid_pos(GridPos(h=h, w=w, x=x, y=y)).thresholds(thresholds(measure)))


def line(title: str, description: str, targets: list[loki.Dataquery], unit: str,
         measure: Measure | None, pos: tuple[int, int, int, int]) -> timeseries.Panel:
    """A line chart showing the alert thresholds as lines."""
    panel = (timeseries.Panel().unit(unit).draw_style(common.GraphDrawStyle.LINE)
             .line_width(2).fill_opacity(0)
             .thresholds_style(common_b.GraphThresholdsStyleConfig()
                               .mode(common.GraphTresholdsStyleMode.LINE))
             .legend(common_b.VizLegendOptions().show_legend(True)
                     .display_mode(common.LegendDisplayMode.LIST)
                     .placement(common.LegendPlacement.BOTTOM)))
    for query in targets:
        panel = panel.with_target(query)
    return _place(panel, *pos, measure, title, description)


def _board(title: str, uid: str, tags: list[str], panels: list[Any]) -> dash_b.Dashboard:
    """A 24-hour UTC dashboard refreshing every minute, panels numbered in order."""
    board = (dash_b.Dashboard(title).uid(uid).tags(tags).time("now-24h", "now").refresh("1m")
             .timezone("utc").editable())
    for number, panel in enumerate(panels, 1):
        board = board.with_panel(panel.id(number))
    return board


def health_dashboard() -> dash_b.Dashboard:
    """"Basecamp Integration Health": the spec's 7 panels."""
    refresh = line("Token Refresh Success Rate",
                   "% of token refreshes that succeeded over the past hour (SC-003).",
                   [target(q.REFRESH_SUCCESS_RATE.expr, legend="success rate")],
                   "percent", q.REFRESH_SUCCESS_RATE, (0, 0, 12, 8)).min(0).max(100)
    completion = line("OAuth Flow Completion Rate",
                      "Successful connections per initiated connection over the past 24 h "
                      "(SC-006).",
                      [target(q.OAUTH_COMPLETION_RATE.expr, legend="completion rate")],
                      "percent", q.OAUTH_COMPLETION_RATE, (12, 0, 12, 8)).min(0)
    connections = _place(
        gauge.Panel().unit("short").min(0).with_target(
            target(q.CONNECTED_ACCOUNTS, legend="connected", instant=True))
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"])),
        0, 8, 6, 8, None, "Active Connections",
        "Connected accounts in the latest account_health snapshot.")
    expired = _place(
        gauge.Panel().unit("percent").min(0).max(100).show_threshold_markers(True).with_target(
            target(q.EXPIRED_ACCOUNTS_PERCENT.expr, legend="expired", instant=True))
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"])),
        6, 8, 6, 8, q.EXPIRED_ACCOUNTS_PERCENT, "Expired Accounts",
        "% of accounts whose tokens have expired, latest account_health snapshot.")
    errors = _place(
        timeseries.Panel().unit("percent").draw_style(common.GraphDrawStyle.LINE)
        .fill_opacity(60).stacking(common_b.StackingConfig().mode(common.StackingMode.NORMAL))
        .with_target(target(q.ERROR_RATE.expr, legend="{{event}} {{error_type}}")),
        12, 8, 12, 8, q.ERROR_RATE, "Error Rate by Type",
        "% of each operation's events failing with one error type over the past hour.")
    latency = line(
        "API Response Times P50/P95/P99",
        "Basecamp HTTP attempts (basecamp_api_request) and the status endpoint's p95 "
        "(SC-002), over the past hour, ms.",
        [*(target(q.api_duration(quantile), ref=ref, legend=f"API p{float(quantile) * 100:g}")
           for ref, quantile in zip("ABC", q.QUANTILES)),
         target(q.STATUS_CHECK_P95.expr, ref="D", legend="status check p95")],
        "ms", q.STATUS_CHECK_P95, (0, 16, 12, 8))
    rate_limits = _place(
        timeseries.Panel().unit("short").draw_style(common.GraphDrawStyle.BARS)
        .fill_opacity(80).interval("1h").time_from("7d")
        .with_target(target(q.RATE_LIMIT_HITS_HOURLY, legend="429 responses / h")),
        12, 16, 12, 8, q.RATE_LIMIT_HITS, "Rate Limit Hits",
        "HTTP 429 responses from Basecamp per hour over 7 days.")
    return _board("Basecamp Integration Health", HEALTH_UID, ["basecamp", "fr-016"],
                  [refresh, completion, connections, expired, errors, latency, rate_limits])


def oauth_dashboard() -> dash_b.Dashboard:
    """"OAuth Flow Details": the spec's 5 panels."""
    durations = _place(
        histogram.Panel().unit("s").combine(True).bucket_size(10).interval("1m")
        .with_target(target(q.FLOW_DURATIONS, legend="{{user_id}}")),
        0, 0, 12, 8, q.OAUTH_FLOW_DURATION_P95, "OAuth Flow Duration Distribution",
        "Successful flows' initiate-to-callback time, one sample per flow, seconds.")
    by_hour = _place(
        heatmap.Panel().calculate(False).interval("1h")
        .rows_frame(heatmap.RowsHeatmapOptions().layout(common.HeatmapCellLayout.UNKNOWN)
                    .value("callbacks"))
        .with_target(target(q.CONNECT_OUTCOMES_BY_HOUR, legend="{{status}}")),
        12, 0, 12, 8, None, "Connection Success/Failure by Hour",
        "OAuth callbacks per hour by outcome.")
    failed = _place(
        table.Panel().show_header(True)
        .sort_by([common_b.TableSortByFieldState().display_name("Time").desc(True)])
        .with_target(target(q.RECENT_FAILED_CONNECTIONS, logs=True))
        .with_transformation(DataTransformerConfig(id_val="extractFields",
                                                   options={"source": "labels"}))
        .with_transformation(DataTransformerConfig(
            id_val="organize",
            # the line is the error (line_format), so its extracted `error` label would repeat it
            options={"excludeByName": {"labels": True, "tsNs": True, "id": True,
                                       "app": True, "env": True, "event": True, "error": True},
                     "renameByName": {"Line": "error message"}})),
        0, 8, 24, 8, None, "Recent Failed Connections",
        "Failed OAuth callbacks with their error messages.")
    state = _place(
        stat.Panel().unit("short")
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(target(q.STATE_VALIDATION_FAILURES, legend="invalid_state",
                            instant=True)),
        0, 16, 6, 8, None, "State Validation Failures",
        "OAuth callbacks rejected for a state mismatch (CSRF, invalid_state), past 24 h.")
    sessions = line("Session Expiration Rate",
                    "% of OAuth callbacks failing with session_expired over the past hour.",
                    [target(q.SESSION_EXPIRATION_RATE, legend="session_expired")],
                    "percent", q.ERROR_RATE, (6, 16, 18, 8)).min(0)
    return _board("OAuth Flow Details", OAUTH_UID, ["basecamp", "fr-016", "oauth"],
                  [durations, by_hour, failed, state, sessions])


DASHBOARDS = {
    "basecamp-integration-health.json": health_dashboard,
    "oauth-flow-details.json": oauth_dashboard,
}


def render(builder: dash_b.Dashboard) -> str:
    """The dashboard's JSON as committed."""
    return json.dumps(builder.build(), cls=JSONEncoder, indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"
