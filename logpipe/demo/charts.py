"""Draw a Grafana dashboard's panels as one PNG: each panel's queries (from the dashboard JSON)
evaluated by our LogQL engine over the event log, laid out on the dashboard's 24-column grid."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from logpipe.logql import LogStore, instant_query, range_query  # noqa: E402
from logpipe.monitoring.durations import seconds  # noqa: E402

NS = 10**9
MAX_POINTS = 120  # Grafana's step: the span over the points it can draw, never below the panel's interval
TABLE_ROWS = 12
GRID_COLS, INCH_PER_COL, INCH_PER_ROW = 24, 0.85, 0.5
TITLE_IN, GAP_IN, LEGEND_IN = 0.5, 0.05, 0.55
BG, PANEL, TEXT, GRIDLINE = "#111217", "#181b1f", "#ccccdc", "#2c3235"
COLOURS = {"green": "#73BF69", "yellow": "#FADE2A", "red": "#F2495C", "dark-orange": "#FF780A"}
SERIES = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0", "#508642"]
SUFFIX = {"percent": "%", "ms": " ms", "s": " s", "short": "", "x": "×"}
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Window:
    """The time range drawn: [start, end] in ns."""

    start_ns: int
    end_ns: int


def _when(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / NS, tz=timezone.utc)


def _legend(fmt: str | None, labels: dict[str, str]) -> str:
    if fmt:
        return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), fmt).strip()
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _defaults(panel: dict[str, Any]) -> dict[str, Any]:
    return panel.get("fieldConfig", {}).get("defaults", {})


def _colour_of(panel: dict[str, Any], value: float) -> str:
    colour = "green"
    for step in _defaults(panel).get("thresholds", {}).get("steps", []):
        if step["value"] is None or value >= step["value"]:
            colour = step["color"]
    return COLOURS.get(colour, colour)


def _format(panel: dict[str, Any], value: float) -> str:
    unit = SUFFIX.get(_defaults(panel).get("unit", "short"), "")
    return f"{value:.1f}{unit}" if unit == "%" or abs(value) < 100 and value != int(value) else f"{value:.0f}{unit}"


def _step_ns(panel: dict[str, Any], window: Window) -> int:
    minimum = seconds(panel["interval"]) * NS if panel.get("interval") else NS
    return max(minimum, (window.end_ns - window.start_ns) // MAX_POINTS // NS * NS)


def _series(store: LogStore, panel: dict[str, Any], window: Window) -> list[tuple[str, list[tuple[datetime, float]]]]:
    """Every range target's series, evaluated at steps ending at the window's end."""
    step = _step_ns(panel, window)
    start = window.end_ns - (window.end_ns - window.start_ns) // step * step
    out = []
    for target in panel["targets"]:
        for s in range_query(store, target["expr"], start, window.end_ns, step).series:
            out.append((_legend(target.get("legendFormat"), s.labels), [(_when(t), v) for t, v in s.points]))
    return out


def _time_axis(ax: Axes, panel: dict[str, Any], window: Window) -> None:
    ax.set_facecolor(PANEL)
    ax.tick_params(colors=TEXT, labelsize=8)
    for spine in ax.spines.values():
        spine.set_color(GRIDLINE)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=timezone.utc))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=10))
    ax.grid(color=GRIDLINE, linewidth=0.5)
    ax.set_xlim(_when(window.start_ns), _when(window.end_ns))
    unit = SUFFIX.get(_defaults(panel).get("unit", "short"), "").strip()
    if unit:
        ax.set_ylabel(unit, color=TEXT, fontsize=8)


def _value_limits(ax: Axes, panel: dict[str, Any]) -> None:
    """The panel's min/max, once the data has set the automatic range."""
    if "min" in _defaults(panel):
        ax.set_ylim(bottom=_defaults(panel)["min"])
    if "max" in _defaults(panel):
        ax.set_ylim(top=_defaults(panel)["max"] * 1.02)


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "No data", color=TEXT, ha="center", va="center", transform=ax.transAxes)


def draw_timeseries(ax: Axes, panel: dict[str, Any], store: LogStore, window: Window) -> list:
    """Lines, stacked areas or bars, threshold lines; returns the legend handles."""
    custom = _defaults(panel).get("custom", {})
    series = _series(store, panel, window)
    _time_axis(ax, panel, window)
    if custom.get("stacking", {}).get("mode") == "normal" and series:
        times = sorted({t for _, points in series for t, _ in points})
        stacks = [[dict(points).get(t, 0.0) for t in times] for _, points in series]
        ax.stackplot(times, stacks, labels=[name for name, _ in series], colors=SERIES,
                     alpha=custom.get("fillOpacity", 60) / 100)
    elif custom.get("drawStyle") == "bars":
        step_days = _step_ns(panel, window) / NS / 86400
        for name, points in series:
            ax.bar([t for t, _ in points], [v for _, v in points], width=step_days * 0.8, label=name,
                   color=[_colour_of(panel, v) for _, v in points], alpha=custom.get("fillOpacity", 80) / 100)
            for t, v in points:
                ax.annotate(f"{v:.0f}", (t, v), color=TEXT, fontsize=8, ha="center", va="bottom")
        times = [t for _, points in series for t, _ in points]
        if times:  # an hourly bar is wider than a short run: show whole buckets
            pad = mdates.num2timedelta(step_days * 0.6)
            ax.set_xlim(min(min(times) - pad, _when(window.start_ns)), max(times) + pad)
    else:
        for i, (name, points) in enumerate(series):
            ax.plot([t for t, _ in points], [v for _, v in points], label=name, color=SERIES[i % len(SERIES)],
                    linewidth=custom.get("lineWidth", 1.5))
    if custom.get("thresholdsStyle", {}).get("mode") == "line":
        for step in _defaults(panel)["thresholds"]["steps"]:
            if step["value"] is not None:
                ax.axhline(step["value"], color=COLOURS.get(step["color"], step["color"]), linestyle="--",
                           linewidth=1)
    _value_limits(ax, panel)
    if not series:
        _no_data(ax)
    return ax.get_legend_handles_labels()


def draw_value(ax: Axes, panel: dict[str, Any], store: LogStore, window: Window) -> list:
    """gauge and stat: the instant value at the end, coloured by the thresholds (a gauge: with its bar)."""
    target = panel["targets"][0]
    samples = instant_query(store, target["expr"], window.end_ns).samples
    ax.axis("off")
    if not samples:
        _no_data(ax)
        return []
    value = samples[0].value
    ax.text(0.5, 0.45, _format(panel, value), color=_colour_of(panel, value), fontsize=34, ha="center",
            va="center", transform=ax.transAxes, fontweight="bold")
    ax.text(0.5, 0.1, _legend(target.get("legendFormat"), samples[0].labels), color=TEXT, fontsize=9,
            ha="center", transform=ax.transAxes)
    if panel["type"] == "gauge":
        low = _defaults(panel).get("min", 0)
        high = _defaults(panel).get("max", max(value, 1) * 1.25)
        ax.add_patch(matplotlib.patches.Rectangle((0.1, 0.78), 0.8, 0.08, color=GRIDLINE, transform=ax.transAxes))
        ax.add_patch(matplotlib.patches.Rectangle((0.1, 0.78), 0.8 * (min(value, high) - low) / (high - low), 0.08,
                                                  color=_colour_of(panel, value), transform=ax.transAxes))
        ax.text(0.1, 0.9, f"{low:g}", color=TEXT, fontsize=7, transform=ax.transAxes)
        ax.text(0.9, 0.9, f"{high:g}", color=TEXT, fontsize=7, ha="right", transform=ax.transAxes)
    return []


def draw_histogram(ax: Axes, panel: dict[str, Any], store: LogStore, window: Window) -> list:
    values = [v for _, points in _series(store, panel, window) for _, v in points]
    size = panel.get("options", {}).get("bucketSize") or 10
    offset = panel.get("options", {}).get("bucketOffset", 0)
    ax.set_facecolor(PANEL)
    ax.tick_params(colors=TEXT, labelsize=8)
    ax.grid(color=GRIDLINE, linewidth=0.5)
    if not values:
        _no_data(ax)
        return []
    edges = [offset + size * i for i in range(int((max(values) - offset) // size) + 2)]
    ax.hist(values, bins=edges, color=COLOURS["green"], edgecolor=PANEL)
    ax.set_ylabel("flows", color=TEXT, fontsize=8)
    ax.set_xlabel(f"seconds: {len(values)} flows in {size:g} s buckets, longest {max(values):.2f} s", color=TEXT,
                  fontsize=8)
    return []


def draw_heatmap(ax: Axes, panel: dict[str, Any], store: LogStore, window: Window) -> list:
    series = _series(store, panel, window)
    times = sorted({t for _, points in series for t, _ in points})
    grid = [[dict(points).get(t, 0.0) for t in times] for _, points in series]
    ax.tick_params(colors=TEXT, labelsize=8)
    if not grid:
        _no_data(ax)
        return []
    ax.imshow(grid, aspect="auto", cmap="Oranges", interpolation="nearest")
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            ax.text(c, r, f"{value:.0f}", ha="center", va="center", color="black", fontsize=11)
    ax.set_yticks(range(len(series)), [name for name, _ in series])
    ax.set_xticks(range(len(times)), [f"hour to {t:%H:%M}" for t in times])
    return []


def draw_table(ax: Axes, panel: dict[str, Any], store: LogStore, window: Window) -> list:
    """A log query's newest lines; label columns as the panel's extractFields/organize keep them."""
    target = panel["targets"][0]
    organize = next((t["options"] for t in panel.get("transformations", []) if t["id"] == "organize"), {})
    hidden, renamed = organize.get("excludeByName", {}), organize.get("renameByName", {})
    result = range_query(store, target["expr"], window.start_ns, window.end_ns + 1, NS,
                         limit=target.get("maxLines", 100))
    entries = sorted(((t, line, s.labels) for s in result.streams for t, line in s.entries), reverse=True)
    columns = sorted({k for _, _, labels in entries for k in labels if not hidden.get(k)})
    header = ["Time", *columns, renamed.get("Line", "Line")]
    cells = [[f"{_when(t):%H:%M:%S}", *(labels.get(c, "") for c in columns), line[:70]]
             for t, line, labels in entries[:TABLE_ROWS]]
    ax.axis("off")
    if not cells:
        _no_data(ax)
        return []
    table = ax.table(cellText=cells, colLabels=header, loc="upper left", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    for (row, _), cell in table.get_celld().items():
        cell.set_facecolor(GRIDLINE if row == 0 else PANEL)
        cell.set_edgecolor(BG)
        cell.get_text().set_color(TEXT)
    table.auto_set_column_width(list(range(len(header))))
    more = f"; newest {TABLE_ROWS} shown" if len(entries) > TABLE_ROWS else ""
    ax.text(1.0, -0.02, f"{len(entries)} lines{more}", color=TEXT, fontsize=8, ha="right", va="top",
            transform=ax.transAxes)
    return []


DRAW = {"timeseries": draw_timeseries, "gauge": draw_value, "stat": draw_value, "histogram": draw_histogram,
        "heatmap": draw_heatmap, "table": draw_table}


def _panel_axes(fig: Figure, pos: dict[str, int], rows: int, timeseries: bool) -> tuple[Axes, Axes, Axes | None]:
    """The panel's frame (title at its top) and its drawing area (and legend strip), in inches."""
    width, height = fig.get_size_inches()
    top_in = TITLE_IN + pos["y"] * INCH_PER_ROW
    frame = (pos["x"] * width / GRID_COLS + GAP_IN, height - top_in - pos["h"] * INCH_PER_ROW + GAP_IN,
             pos["w"] * width / GRID_COLS - 2 * GAP_IN, pos["h"] * INCH_PER_ROW - 2 * GAP_IN)
    back = fig.add_axes((frame[0] / width, frame[1] / height, frame[2] / width, frame[3] / height))
    back.set_facecolor(PANEL)
    back.set_xticks([])
    back.set_yticks([])
    for spine in back.spines.values():
        spine.set_color(GRIDLINE)
    left, bottom = (0.75, 0.45 + LEGEND_IN) if timeseries else (0.5, 0.3)
    inner = (frame[0] + left, frame[1] + bottom, frame[2] - left - 0.2, frame[3] - bottom - 0.4)
    ax = fig.add_axes((inner[0] / width, inner[1] / height, inner[2] / width, inner[3] / height))
    legend = None
    if timeseries:
        legend = fig.add_axes((inner[0] / width, (frame[1] + 0.05) / height, inner[2] / width, LEGEND_IN / height))
        legend.axis("off")
    return back, ax, legend


def render(dashboard_json: Path, store: LogStore, window: Window, out: Path) -> Path:
    """Draw every panel of the dashboard into `out` (PNG)."""
    board = json.loads(dashboard_json.read_text())
    panels = board["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(GRID_COLS * INCH_PER_COL, TITLE_IN + rows * INCH_PER_ROW), facecolor=BG)
    for panel in panels:
        back, ax, legend_ax = _panel_axes(fig, panel["gridPos"], rows, panel["type"] == "timeseries")
        back.set_title(panel["title"], color=TEXT, fontsize=11, loc="left", y=1.0, pad=-14, x=0.01)
        handles, labels = DRAW[panel["type"]](ax, panel, store, window) or ([], [])
        if legend_ax is not None and handles:
            legend_ax.legend(handles, labels, loc="upper left", fontsize=6.5, frameon=False, labelcolor=TEXT,
                             ncol=min(len(handles), 3), borderaxespad=0, labelspacing=0.25)
    span = f"{_when(window.start_ns):%Y-%m-%d %H:%M:%S} – {_when(window.end_ns):%H:%M:%S} UTC"
    fig.suptitle(f"{board['title']}  ·  {span}  ·  our LogQL engine over {len(store)} log lines", color=TEXT,
                 fontsize=14, x=0.005, y=1 - 0.15 / (TITLE_IN + rows * INCH_PER_ROW), ha="left", va="top")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90, facecolor=BG)
    plt.close(fig)
    return out
