"""Find traces, Tempo style: every condition must hold on one span of the trace.

Conditions (all bound parameters): window on the span's start, ``--service``, ``--name``,
``--kind`` (all kinds by default), ``--attr key=value`` (span or resource attribute, repeatable),
``--min-duration`` (of that span), ``--status`` (ERROR follows the error-span rule). The
newest matching traces come first (by their first matching span), at most ``--limit`` (20).
For each: its root span's service and name (the earliest span without a parent; '' when the
lake holds none), its duration (last end - first start), span count and error count, over the
trace's spans in the window's days (plus one day for traces that cross midnight).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from otellake.analytics.dialects import Dialect
from otellake.analytics.queries import Query, SpanFilter, is_error_span, span_where

DEFAULT_LIMIT = 20


def search(f: SpanFilter, d: Dialect) -> Query:
    params: dict[str, Any] = {}
    where = span_where(f, params)
    params["trace_to_day"] = params["to_day"] + timedelta(days=1)
    limit = int(f.limit or DEFAULT_LIMIT)  # an int, so safe in the SQL text
    sql = f"""
        WITH matches AS (
            SELECT trace_id, min(start_time) AS matched_at, count(*) AS matched_spans
            FROM spans WHERE {where}
            GROUP BY trace_id ORDER BY matched_at DESC, trace_id LIMIT {limit}
        ), trace_spans AS (
            SELECT s.trace_id, s.span_id, s.parent_span_id, s.service_name, s.span_name,
                   s.span_kind, s.status_code, s.span_attributes, s.start_time,
                   s.start_time_unix_nano, s.end_time_unix_nano
            FROM spans s JOIN matches m ON s.trace_id = m.trace_id
            WHERE s.date >= :from_day AND s.date <= :trace_to_day
        ), roots AS (
            SELECT trace_id, service_name, span_name,
                   row_number() OVER (PARTITION BY trace_id
                                      ORDER BY start_time_unix_nano, span_id) AS rn
            FROM trace_spans WHERE parent_span_id = ''
        ), totals AS (
            SELECT trace_id, min(start_time) AS start_time,
                   (max(end_time_unix_nano) - min(start_time_unix_nano)) / 1e6 AS duration_ms,
                   count(*) AS span_count,
                   sum(CASE WHEN {is_error_span()} THEN 1 ELSE 0 END) AS error_count
            FROM trace_spans GROUP BY trace_id
        )
        SELECT t.trace_id, coalesce(r.service_name, '') AS root_service_name,
               coalesce(r.span_name, '') AS root_span_name, t.start_time, t.duration_ms,
               t.span_count, t.error_count, m.matched_spans
        FROM matches m JOIN totals t ON t.trace_id = m.trace_id
        LEFT JOIN roots r ON r.trace_id = m.trace_id AND r.rn = 1
        ORDER BY m.matched_at DESC, t.trace_id"""
    return Query(sql, params, ["spans"])
