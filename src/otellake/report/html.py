"""One self-contained HTML page: inline CSS, charts as PNG data URIs, no scripts, no links out."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from otellake.report import charts
from otellake.report.collect import ReportData

TITLES = {
    "headline": "Headline",
    "errors_by_service": "Error rate per service",
    "slo": "SLO burn rates and alerts",
    "latency_over_time": "Latency over time (p50 / p95 / p99)",
    "critical_path": "Critical path of the slowest requests",
    "top_exceptions": "Top exceptions",
    "top_log_templates": "Top error-log templates",
    "dependencies": "Dependency graph",
    "anomalies": "Anomalies",
    "changes": "What changed versus the previous window",
}
ANOMALY_COLUMNS = [
    *("service_name", "minute", "severity", "score", "request_rate", "error_rate"),
    *("p95_ms", "cpu", "memory"),
]
SLO_COLUMNS = [
    *("service_name", "alert", "events", "good", "sli", "budget_remaining"),
    *("burn_5m", "burn_30m", "burn_1h", "burn_6h", "burn_3d"),
]
CRITICAL_PATH_COLUMNS = [
    *("service_name", "span_name", "critical_ms", "share", "traces", "mean_critical_ms"),
]
CHANGE_COLUMNS = [
    *("service_name", "spans", "spans_before", "error_rate", "error_rate_before"),
    *("p95_ms", "p95_ms_before", "p95_change"),
]
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f6f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: .4rem; padding: .6rem 1rem; min-width: 9rem; }
.card .value { font-size: 1.5rem; font-weight: 600; } .card .label { color: #666; }
img.chart { max-width: 100%; display: block; margin: .5rem 0; }
.note { color: #555; } .empty { font-size: 1.2rem; color: #a04000; }
code { font-size: .8rem; }
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str], empty: str) -> str:
    if not rows:
        return f'<p class="note">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            css = ' class="num"' if isinstance(value, int | float) else ""
            text = escape(_fmt(value))
            if isinstance(value, str) and len(value) > 160:
                text = escape(value[:160]) + "…"
            cells.append(f"<td{css}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _chart(name: str, draw: Callable[[], bytes], alt: str) -> str:
    data = base64.b64encode(draw()).decode("ascii")
    return (
        f'<img class="chart" id="chart-{name}" alt="{escape(alt)}" '
        f'src="data:image/png;base64,{data}">'
    )


def _headline(h: dict[str, Any]) -> str:
    cards = [
        ("requests", f"{h['requests']:,}"),
        ("error rate", "n/a" if h["error_rate"] is None else f"{h['error_rate']:.2%}"),
        (f"p95 ({h['entry_service']})", "n/a" if h["p95_ms"] is None else f"{h['p95_ms']:.1f} ms"),
        (f"p99 ({h['entry_service']})", "n/a" if h["p99_ms"] is None else f"{h['p99_ms']:.1f} ms"),
        ("services", str(h["services"])),
        ("error logs", f"{h['error_logs']:,}"),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{escape(v)}</div>'
            f'<div class="label">{escape(k)}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )


def _sections(data: ReportData) -> dict[str, str]:
    """Each section's HTML, by section name."""
    return {name: section(data.sections[name]) for name, section in SECTIONS.items()}


def _errors_section(rows: Any) -> str:
    return _chart("error-rate", lambda: charts.error_rate(rows), "error rate") + _table(
        rows, ["service_name", "spans", "error_spans", "error_rate", "error_logs"], "no spans"
    )


def _slo_section(slo: Any) -> str:
    return (
        f'<p class="note">objective {slo["objective"]:g} % of SERVER and CONSUMER '
        "spans not in error; burn rate = (1 - SLI) ÷ (1 - objective) over the window ending at "
        "the report's end; page: 1h and 5m both above 14.4, or 6h and 30m both above 6; "
        "ticket: 3d and 6h both above 1</p>" + _table(slo["rows"], SLO_COLUMNS, "no spans")
    )


def _latency_section(latency: Any) -> str:
    return (
        _chart("latency", lambda: charts.latency_over_time(latency["rows"]), "latency")
        + f'<p class="note">buckets of {escape(latency["bucket"])}, SERVER and CONSUMER '
        "spans, exact percentiles</p>"
    )


def _critical_path_section(critical: Any) -> str:
    chart = (
        _chart(
            "critical-path",
            lambda: charts.critical_path(critical["by_service"]),
            "critical path by service",
        )
        if critical["by_service"]
        else ""
    )
    return (
        chart
        + f'<p class="note">requests at or above the p{critical["slowest"]:g} duration of their '
        "entry operation; each request's critical path (Jaeger's: the children that finish "
        "last, walked back from the end) credits every moment to the one span the request "
        "waited on. Share: of those requests' total duration; the operations owning most:</p>"
        + _table(critical["by_operation"], CRITICAL_PATH_COLUMNS, "no requests in this window")
    )


def _exceptions_section(rows: Any) -> str:
    return _table(
        rows,
        ["exception_type", "exception_message", "count", "services", "sample_trace_id"],
        "no exceptions in this window",
    )


def _log_templates_section(rows: Any) -> str:
    return _table(
        rows, ["template", "count", "services", "sample_trace_id"], "no error logs in this window"
    )


def _dependencies_section(rows: Any) -> str:
    chart = _chart("dependencies", lambda: charts.dependencies(rows), "call graph") if rows else ""
    return chart + _table(
        rows,
        ["caller", "callee", "is_virtual", "calls", "errors", "error_rate", "p95_ms"],
        "no calls between services in this window",
    )


def _anomalies_section(anomalies: Any) -> str:
    chart = (
        _chart("anomalies", lambda: charts.anomaly_scores(anomalies["scores"]), "scores")
        if anomalies["scores"]
        else ""
    )
    return (
        f'<p class="note">{escape(anomalies["message"])}</p>'
        + chart
        + _table(anomalies["rows"], ANOMALY_COLUMNS, "no anomalies")
    )


def _changes_section(changes: Any) -> str:
    return (
        f'<p class="note">previous window [{changes["previous_window"]["from"]}, '
        f"{changes['previous_window']['to']})</p>"
        + _table(changes["services"], CHANGE_COLUMNS, "no services")
        + "<h3>New exceptions</h3>"
        + _table(
            changes["new_exceptions"],
            ["exception_type", "exception_message", "count", "services"],
            "none",
        )
        + "<h3>New error-log templates</h3>"
        + _table(changes["new_log_templates"], ["template", "count", "services"], "none")
    )


# the report's sections, in the order of the page, each from its part of ReportData.sections
SECTIONS: dict[str, Callable[[Any], str]] = {
    "errors_by_service": _errors_section,
    "slo": _slo_section,
    "latency_over_time": _latency_section,
    "critical_path": _critical_path_section,
    "top_exceptions": _exceptions_section,
    "top_log_templates": _log_templates_section,
    "dependencies": _dependencies_section,
    "anomalies": _anomalies_section,
    "changes": _changes_section,
}


def render(data: ReportData) -> str:
    window = data.window.iso()
    title = f"otel-lake report {window['from']} to {window['to']}"
    header = (
        f"<h1>{escape(title)}</h1><p class='note'>engine {escape(data.engine)}, generated "
        f"{data.generated_at:%Y-%m-%dT%H:%M:%SZ}</p>"
    )
    if data.empty:
        body = (
            f'<section id="empty"><p class="empty">No requests in [{window["from"]}, '
            f"{window['to']}): the lake holds no root spans for this window, so there is "
            "nothing to report.</p></section>"
        )
    else:
        parts = {"headline": _headline(data.sections["headline"]), **_sections(data)}
        body = "".join(
            f'<section id="{name}"><h2>{escape(TITLES[name])}</h2>{html}</section>'
            for name, html in parts.items()
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body>{header}{body}</body></html>\n"
    )
