"""What the report says, as plain data (also its JSON summary): one call per section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from otellake.analytics import api
from otellake.analytics.engines import Engine
from otellake.analytics.queries import SpanFilter
from otellake.analytics.slo import DEFAULT_OBJECTIVE
from otellake.analytics.window import Window, iso_z
from otellake.anomalies.detector import TooLittleHistory
from otellake.anomalies.run import DEFAULT_HISTORY
from otellake.anomalies.run import run as detect_anomalies

TOP = 10
SLOWEST = 99.0  # the critical-path section looks at the slowest 1 % of each entry operation
SECTIONS = (
    "headline",
    "errors_by_service",
    "slo",
    "latency_over_time",
    "critical_path",
    "top_exceptions",
    "top_log_templates",
    "dependencies",
    "anomalies",
    "changes",
)


@dataclass
class ReportData:
    window: Window
    previous: Window
    engine: str
    generated_at: datetime
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.sections["headline"]["requests"]

    def summary(self) -> dict[str, Any]:
        """The JSON summary written beside the HTML."""
        return {
            "report": {
                "window": self.window.iso(),
                "previous_window": self.previous.iso(),
                "engine": self.engine,
                "generated_at": iso_z(self.generated_at),
                "empty": self.empty,
            },
            **self.sections,
        }


def bucket_for(window: Window) -> str:
    """About 12 to 300 points per line: 1m up to 3 h, 5m up to a day, else 1h."""
    length = window.end - window.start
    return "1m" if length <= timedelta(hours=3) else "5m" if length <= timedelta(days=1) else "1h"


def _rows(analysis: str, engine: Engine, window: Window, **options: Any) -> list[dict[str, Any]]:
    span_filter = api.make_filter(analysis, window=window, **options)
    return api.run(analysis, span_filter, engine).rows


def headline(engine: Engine, window: Window) -> dict[str, Any]:
    """Requests are root SERVER spans (what users asked for); p95 of the busiest entry point."""
    roots = api.run("errors", SpanFilter(window, root_only=True), engine).rows
    requests = sum(r["spans"] for r in roots)
    errors = sum(r["error_spans"] for r in roots)
    all_services = _rows("errors", engine, window)
    latency = {
        r["service_name"]: r
        for r in api.run("latency", SpanFilter(window, root_only=True), engine).rows
    }
    entry = max(roots, key=lambda r: r["spans"])["service_name"] if roots else None
    return {
        "requests": requests,
        "error_requests": errors,
        "error_rate": errors / requests if requests else None,
        "entry_service": entry,
        "p50_ms": latency[entry]["p50_ms"] if entry else None,
        "p95_ms": latency[entry]["p95_ms"] if entry else None,
        "p99_ms": latency[entry]["p99_ms"] if entry else None,
        "services": len(all_services),
        "error_logs": sum(r.get("error_logs") or 0 for r in all_services),
    }


def changes(
    engine: Engine, window: Window, previous: Window, now_errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """Per service: requests, error rate and p95 now and in the previous window of the same
    length; exception types and log templates that are new in this window."""
    before_errors = {r["service_name"]: r for r in _rows("errors", engine, previous)}
    now_latency = {r["service_name"]: r for r in _rows("latency", engine, window)}
    before_latency = {r["service_name"]: r for r in _rows("latency", engine, previous)}
    services = []
    for row in now_errors:
        name = row["service_name"]
        before = before_errors.get(name)
        p95_now = now_latency.get(name, {}).get("p95_ms")
        p95_before = before_latency.get(name, {}).get("p95_ms")
        services.append(
            {
                "service_name": name,
                "spans": row["spans"],
                "spans_before": before["spans"] if before else 0,
                "error_rate": row["error_rate"],
                "error_rate_before": before["error_rate"] if before else None,
                "p95_ms": p95_now,
                "p95_ms_before": p95_before,
                "p95_change": p95_now / p95_before - 1 if p95_now and p95_before else None,
            }
        )
    for name in sorted(set(before_errors) - {r["service_name"] for r in now_errors}):
        services.append({"service_name": name, "spans": 0, "gone": True})
    before_types = {
        (r["exception_type"], r["exception_message"]) for r in _rows("exceptions", engine, previous)
    }
    new_exceptions = [
        r
        for r in _rows("exceptions", engine, window)
        if (r["exception_type"], r["exception_message"]) not in before_types
    ]
    before_templates = {r["template"] for r in _rows("log-errors", engine, previous)}
    new_templates = [
        r for r in _rows("log-errors", engine, window) if r["template"] not in before_templates
    ]
    return {
        "previous_window": previous.iso(),
        "services": services,
        "new_exceptions": new_exceptions[:TOP],
        "new_log_templates": new_templates[:TOP],
    }


def slo(engine: Engine, window: Window) -> dict[str, Any]:
    """Error-budget burn rates at the default objective, alerting services first (pages, then
    tickets), so the table opens with what needs a person."""
    rows = _rows("slo", engine, window)
    order = {"page": 0, "ticket": 1, "none": 2}
    return {
        "objective": DEFAULT_OBJECTIVE,
        "rows": sorted(rows, key=lambda r: (order[r["alert"]], r["service_name"])),
    }


def critical_path(engine: Engine, window: Window) -> dict[str, Any]:
    """Where the slowest requests spend their time: their critical path by service (the
    chart), and the operations that own most of it."""
    return {
        "slowest": SLOWEST,
        "by_service": _rows("critical-path", engine, window, slowest=SLOWEST, by="service"),
        "by_operation": _rows("critical-path", engine, window, slowest=SLOWEST)[:TOP],
    }


def anomalies(engine: Engine, window: Window, history: timedelta) -> dict[str, Any]:
    try:
        found = detect_anomalies(engine, window, history)
    except TooLittleHistory as exc:
        return {"status": "too_little_history", "message": str(exc), "rows": [], "scores": []}
    scored = found.rows(everything=True)
    return {
        "status": "scored" if scored else "nothing_to_score",
        "message": (
            f"{sum(r['is_anomaly'] for r in scored)} anomalies in {len(scored)} service-minutes"
            f", trained on [{found.trained.iso()['from']}, {found.trained.iso()['to']})"
            + "".join(f"; not scored: {s}: {why}" for s, why in found.detection.skipped.items())
        ),
        "trained": found.trained.iso(),
        "rows": [r for r in scored if r["is_anomaly"]],
        "scores": [
            {k: r[k] for k in ("service_name", "minute", "score", "is_anomaly")} for r in scored
        ],
    }


def collect(
    engine: Engine,
    window: Window,
    history: timedelta = DEFAULT_HISTORY,
    now: datetime | None = None,
) -> ReportData:
    previous = Window(window.start - (window.end - window.start), window.start)
    data = ReportData(window, previous, engine.name, now or datetime.now(UTC))
    data.sections["headline"] = headline(engine, window)
    if data.empty:
        data.sections |= {name: None for name in SECTIONS[1:]}
        return data
    errors = _rows("errors", engine, window)
    data.sections |= {
        "errors_by_service": sorted(errors, key=lambda r: -r["error_rate"]),
        "slo": slo(engine, window),
        "latency_over_time": {
            "bucket": bucket_for(window),
            "rows": _rows("latency", engine, window, bucket=bucket_for(window)),
        },
        "critical_path": critical_path(engine, window),
        "top_exceptions": _rows("exceptions", engine, window)[:TOP],
        "top_log_templates": _rows("log-errors", engine, window)[:TOP],
        "dependencies": _rows("deps", engine, window),
        "anomalies": anomalies(engine, window, history),
        "changes": changes(engine, window, previous, errors),
    }
    return data
