"""Service dependencies: caller→callee edges from CLIENT/PRODUCER spans.

A CLIENT/PRODUCER span whose child SERVER/CONSUMER span belongs to another service gives the
edge caller→callee. A CLIENT span without such a child (a database, a cache, a service that
does not trace) gives an edge to a virtual service named by the first non-empty of
``peer.service``, ``db.system.name``, ``db.system``, ``server.address``; a CLIENT span with none
of them names no callee and gives no edge. Edge figures come from the calling spans: calls,
errors (status ERROR), error_rate, p95_ms. The window and ``--service`` (caller or callee)
select the calling spans; their children may start up to a day after the window's last day.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from otellake.analytics import attributes
from otellake.analytics.dialects import Dialect
from otellake.analytics.queries import Query, SpanFilter, span_where

VIRTUAL_CALLEE_KEYS = ("peer.service", "db.system.name", "db.system", "server.address")


def _virtual_callee() -> str:
    names = ", ".join(
        f"nullif({attributes.value_sql(key, 'span_attributes')}, '')" for key in VIRTUAL_CALLEE_KEYS
    )
    return f"coalesce({names})"


def deps(f: SpanFilter, d: Dialect) -> Query:
    params: dict[str, Any] = {}
    callers = SpanFilter(f.window, kinds=("CLIENT", "PRODUCER"))
    where = span_where(callers, params)
    params["child_to_day"] = params["to_day"] + timedelta(days=1)
    service_clause = ""
    if f.service is not None:
        params["service"] = f.service
        service_clause = "AND (caller = :service OR callee = :service)"
    sql = f"""
        WITH calls AS (
            SELECT trace_id, span_id, service_name AS caller, span_kind, status_code,
                   duration_ns, {_virtual_callee()} AS virtual_callee
            FROM spans WHERE {where}
        ), children AS (
            SELECT DISTINCT trace_id, parent_span_id, service_name AS callee FROM spans
            WHERE date >= :from_day AND date <= :child_to_day
              AND span_kind IN ('SERVER', 'CONSUMER') AND parent_span_id <> ''
        ), edges AS (
            SELECT c.caller, coalesce(ch.callee, c.virtual_callee) AS callee,
                   ch.callee IS NULL AS is_virtual, c.span_kind, c.status_code, c.duration_ns
            FROM calls c LEFT JOIN children ch
              ON ch.trace_id = c.trace_id AND ch.parent_span_id = c.span_id
             AND ch.callee <> c.caller
        )
        SELECT {d.small_result_hint()} caller, callee, is_virtual, count(*) AS calls,
               sum(CASE WHEN status_code = 'ERROR' THEN 1 ELSE 0 END) AS errors,
               CAST(sum(CASE WHEN status_code = 'ERROR' THEN 1 ELSE 0 END) AS DOUBLE)
                 / count(*) AS error_rate,
               {d.percentile("duration_ns", 0.95)} / 1e6 AS p95_ms
        FROM edges
        WHERE callee IS NOT NULL AND (NOT is_virtual OR span_kind = 'CLIENT') {service_clause}
        GROUP BY caller, callee, is_virtual
        ORDER BY caller, callee, is_virtual"""
    # (the hint: one partition for the final sort of the few edges, so that Spark does not
    # merge the p95 aggregates a second time to sample them)
    return Query(sql, params, ["spans"])
