"""The side-by-side table (metric, from logs, from ground truth, match), as text and Markdown."""
from __future__ import annotations

from datetime import datetime, timezone
from itertools import groupby

from logpipe.e2e.run import Result

HEADER = ("metric", "from logs", "from ground truth", "match")


def _ns_text(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def title(result: Result) -> str:
    s, t, ev = result.scenario, result.truth, result.evaluation
    verdict = "ALL MATCH" if result.ok else f"{sum(not r.match for r in result.rows)} MISMATCH(ES)"
    return (f"Scenario {s.name}: {verdict} — seed {s.seed}, {s.behaviours.users} users, "
            f"{s.behaviours.refresh_passes} refresh passes, faults: {s.faults_text()}; "
            f"{len(ev.store)} events, {t.initiated} flows, {len(t.status_ms)} status calls, "
            f"{t.refresh_ops} refreshes; E = {_ns_text(ev.end_ns)}, C = {_ns_text(ev.alert_ns)}; "
            f"{result.seconds:.0f} s")


def text(result: Result) -> str:
    """An aligned plain-text table grouped by section."""
    widths = [max(len(HEADER[0]), *(len(r.metric) for r in result.rows)),
              max(len(HEADER[1]), *(len(r.logs) for r in result.rows)),
              max(len(HEADER[2]), *(len(r.truth) for r in result.rows))]
    out = [title(result), ""]
    line = "  ".join(h.ljust(w) for h, w in zip(HEADER, widths + [5]))
    out.append(line)
    for section, rows in groupby(result.rows, key=lambda r: r.section):
        out.append(f"-- {section}")
        for row in rows:
            cells = (row.metric, row.logs, row.truth, "yes" if row.match else "NO")
            out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths + [5])).rstrip())
    return "\n".join(out)


def markdown(result: Result) -> str:
    out = [f"### {title(result)}", ""]
    for section, rows in groupby(result.rows, key=lambda r: r.section):
        out += [f"**{section}**", "", "| " + " | ".join(HEADER) + " |", "|---|---|---|---|"]
        out += [f"| `{r.metric}` | {r.logs} | {r.truth} | {'yes' if r.match else '**NO**'} |" for r in rows]
        out.append("")
    return "\n".join(out)
