"""Features per service per minute, read from the lake through an analytics engine.

Requests (SERVER and CONSUMER spans), error rate and p95 latency come from the `errors` and
`latency` analyses bucketed by minute; cpu and memory are the minute's mean of the
``process.cpu.utilization`` and ``process.memory.usage`` gauges over the service's instances.
A service that reports no gauges has NULL cpu and memory: missing, never invented.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from otellake.analytics import api
from otellake.analytics.engines import Engine, LakeMissing
from otellake.analytics.queries import SpanFilter, window_params
from otellake.analytics.window import Window

if TYPE_CHECKING:
    import pandas as pd

FEATURES = ("request_rate", "error_rate", "p95_ms", "cpu", "memory")
GAUGES = {"cpu": "process.cpu.utilization", "memory": "process.memory.usage"}
MINUTE = timedelta(minutes=1)


def whole_minutes(window: Window) -> Window:
    """The complete minutes inside a window: a minute still being filled is not judged."""
    start = window.start.replace(second=0, microsecond=0)
    if start < window.start:
        start += MINUTE
    end = window.end.replace(second=0, microsecond=0)
    return Window(start, max(start, end))


def _minute(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _gauges(engine: Engine, window: Window) -> list[dict[str, Any]]:
    params: dict[str, Any] = {}
    window_params(SpanFilter(window), params)
    names = []
    for i, metric in enumerate(GAUGES.values()):
        params[f"metric_{i}"] = metric
        names.append(f":metric_{i}")
    sql = f"""
        SELECT service_name, metric_name, date_trunc('minute', timestamp) AS minute,
               avg(value) AS value
        FROM metrics_gauge
        WHERE date >= :from_day AND date <= :to_day
          AND timestamp >= :from_ts AND timestamp < :to_ts
          AND metric_name IN ({", ".join(names)})
        GROUP BY service_name, metric_name, date_trunc('minute', timestamp)"""
    try:
        return engine.query(sql, params, ["metrics_gauge"])
    except LakeMissing:  # a lake without metrics: the span features still stand
        return []


def minute_features(engine: Engine, window: Window) -> pd.DataFrame:
    """One row per service and complete minute of ``window`` that saw at least one request:
    service_name, minute (UTC, tz-aware), request_rate (per s), error_rate, p95_ms, cpu, memory.
    """
    import pandas as pd

    window = whole_minutes(window)
    columns = ["service_name", "minute", *FEATURES]
    if window.end <= window.start:
        return pd.DataFrame(columns=columns)
    span_filter = SpanFilter(window, bucket_s=60)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for row in api.run("errors", span_filter, engine).rows:
        rows[(row["service_name"], row["bucket_start"])] = {
            "service_name": row["service_name"],
            "minute": row["bucket_start"],
            "request_rate": row["spans"] / 60.0,
            "error_rate": float(row["error_rate"]),
        }
    for row in api.run("latency", span_filter, engine).rows:
        key = (row["service_name"], row["bucket_start"])
        if key in rows:
            rows[key]["p95_ms"] = float(row["p95_ms"])
    for row in _gauges(engine, window):
        key = (row["service_name"], row["minute"])
        feature = next(f for f, name in GAUGES.items() if name == row["metric_name"])
        if key in rows and row["value"] is not None:
            rows[key][feature] = float(row["value"])
    # one row per service and minute: service_name, minute, request_rate, ..., memory
    frame = pd.DataFrame(list(rows.values()), columns=columns)
    frame["minute"] = [_minute(m) for m in frame["minute"]]
    for feature in FEATURES:
        frame[feature] = frame[feature].astype("float64")
    return frame.sort_values(["service_name", "minute"], ignore_index=True)
