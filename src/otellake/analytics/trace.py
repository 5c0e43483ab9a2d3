"""One trace, in tree order, with its logs.

The ``trace_index`` table says which date partitions hold the trace, so only those are read;
within them, Delta's per-file trace_id statistics (sharper after ``otellake maintain`` sorts by
trace_id) let the engines skip most files. Spark reads the spans of just the files that hold the
trace (``Engine.snapshot``: its Parquet reader decodes every column of every row before it
filters, so the lookup first reads the trace_id column alone to find them). Tree order is
pre-order with children sorted by (start_time_unix_nano, span_id); spans whose parent is not in
the lake are shown as roots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from otellake.analytics.engines import Engine, LakeMissing
from otellake.analytics.queries import is_error_span
from otellake.analytics.window import Window
from otellake.errors import BadInput

_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def parse_trace_id(text: str | None) -> str:
    if not text:
        raise BadInput("analyze trace needs a trace id: otellake analyze trace <32 hex digits>")
    trace_id = text.strip().lower()
    if not _TRACE_ID.fullmatch(trace_id) or trace_id == "0" * 32:
        raise BadInput(
            f"malformed trace id {text!r}: expected 32 hex digits (16 bytes), not all zeros"
        )
    return trace_id


@dataclass(frozen=True)
class TraceResult:
    window: Window
    spans: list[dict[str, Any]]
    logs: list[dict[str, Any]]


def _days(engine: Engine, trace_id: str) -> tuple[date, date] | None:
    rows = engine.query(
        "SELECT min(date) AS first_day, max(date) AS last_day FROM trace_index "
        "WHERE trace_id = :trace_id",
        {"trace_id": trace_id},
        ["trace_index"],
    )
    if not rows or rows[0]["first_day"] is None:
        return None
    return _as_date(rows[0]["first_day"]), _as_date(rows[0]["last_day"])


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _spans(engine: Engine, trace_id: str, days: tuple[date, date]) -> list[dict[str, Any]]:
    with engine.snapshot("spans", days[0], days[1], trace_id=trace_id) as facts:
        return engine.query(
            f"""SELECT span_id, parent_span_id, service_name, span_name, span_kind,
                       start_time, start_time_unix_nano, duration_ns / 1e6 AS duration_ms,
                       status_code, status_message,
                       CASE WHEN {is_error_span(facts)} THEN true ELSE false END AS is_error
                FROM spans
                WHERE date >= :first_day AND date <= :last_day AND trace_id = :trace_id""",
            {"trace_id": trace_id, "first_day": days[0], "last_day": days[1]},
            ["spans"],
        )


def _logs(engine: Engine, trace_id: str, days: tuple[date, date]) -> list[dict[str, Any]]:
    try:
        return engine.query(
            """SELECT timestamp, time_unix_nano, span_id, service_name, severity_number,
                      severity_text, body
               FROM logs WHERE date >= :first_day AND date <= :last_day AND trace_id = :trace_id
               ORDER BY time_unix_nano, span_id, body""",
            {"trace_id": trace_id, "first_day": days[0], "last_day": days[1] + timedelta(days=1)},
            ["logs"],
        )
    except LakeMissing:  # a lake that ingests traces only has no logs table
        return []


def tree_order(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pre-order with depth; children by (start_time_unix_nano, span_id); orphans are roots."""
    by_id = {s["span_id"] for s in spans}
    children: dict[str, list[dict[str, Any]]] = {}
    roots = []
    for span in spans:
        parent = span["parent_span_id"]
        if parent and parent in by_id and parent != span["span_id"]:
            children.setdefault(parent, []).append(span)
        else:
            roots.append(span)

    def key(span: dict[str, Any]) -> tuple[int, str]:
        return span["start_time_unix_nano"], span["span_id"]

    ordered: list[dict[str, Any]] = []
    seen: set[int] = set()
    stack = [(root, 0) for root in sorted(roots, key=key, reverse=True)]
    while stack:  # iterative: a deep trace must not hit Python's recursion limit
        span, depth = stack.pop()
        if id(span) in seen:
            continue
        seen.add(id(span))
        ordered.append({"depth": depth, **span})
        for child in sorted(children.get(span["span_id"], []), key=key, reverse=True):
            stack.append((child, depth + 1))
    # spans on a parent cycle (corrupt input) are never reached from a root: show them last
    ordered += [{"depth": 0, **s} for s in spans if id(s) not in seen]
    return ordered


def trace(engine: Engine, trace_id: str) -> TraceResult | None:
    """The trace's spans (tree order) and logs; None when the lake does not hold it."""
    days = _days(engine, trace_id)
    if days is None:
        return None
    spans = tree_order(_spans(engine, trace_id, days))
    start = datetime.combine(days[0], time(), UTC)
    window = Window(start, datetime.combine(days[1], time(), UTC) + timedelta(days=1))
    return TraceResult(window, spans, _logs(engine, trace_id, days))
