"""`analyze critical-path`: which service owns the latency of the requests in a window.

Per request (a root SERVER span, ``parent_span_id = ''``, starting in the window), Jaeger UI's
critical path as the contract pins it (``docs/contract.md``, "Critical path"): each child's
interval is clipped to its (clipped) parent's, a child wholly outside is dropped with its
subtree; from the parent's end the current point walks back, the child that ends last at or
before the point (ties: smallest span_id) is on the path and walked the same way, the parent's
time between that child's end and the point is the parent's own, and the point moves to the
child's start; with no such child left, the parent owns the rest down to its start. The sections
of a request add up to its root's duration. Rows aggregate the sections over the requests, by
(service_name, span_name) or by service.

The walk is sequential, but what it decides is not: which child comes first depends only on
the parent's end, and which sibling comes after a child only on that child's start. So the
query (one SQL text, both engines) computes two pointers per clipped span with a window over
its siblings' end and start times: ``first`` (the child ending last at or before the span's
own end) and ``next`` (the sibling ending last at or before the span's start). The path is
the closure of the root under those pointers (a recursive CTE), and a span's time on the path
is its clipped length minus the clipped lengths of its children on the path (they lie one
after the other inside it). Clipping is a recursive CTE too, from each root down.

Steps (each materialized for the next): the kept requests; their traces' other spans (in the
window's days plus one, for requests that cross midnight; a span stored twice counts once);
the clipped trees; the pointers; then the path and the rows. On Spark the session's recursion
limits (100 levels, 1M rows) are lifted first. On a 10M-span lake, an hour with ``--slowest
99`` takes 0.8 s on DuckDB (most of it finding the requests' spans), 10 s on Spark.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from otellake.analytics.dialects import Dialect
from otellake.analytics.engines import Engine
from otellake.analytics.queries import SpanFilter, span_where
from otellake.errors import BadInput

_PARAM = re.compile(r":([a-z_][a-z0-9_]*)")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Spark stops a recursive CTE after 100 levels or 1M rows by default; a path is as many levels
# deep as the longest chain of pointers it follows, and the clipped trees of a long window
# hold more rows than that.
SPARK_RECURSION_LIMITS = ("spark.sql.cteRecursionLevelLimit", "spark.sql.cteRecursionRowLimit")


def check_filter(f: SpanFilter) -> None:
    """The options that make no sense for requests, named."""
    if f.bucket_s is not None:
        raise BadInput("critical-path has no --bucket: its rows sum over the whole window")
    if f.kinds not in (("SERVER", "CONSUMER"), ("SERVER",)):
        raise BadInput(
            f"critical-path looks at requests (root SERVER spans); --kind {','.join(f.kinds)} "
            "does not apply"
        )


def _last_non_null(d: Dialect, expr: str) -> str:
    """Window function: the last non-NULL value of ``expr`` up to the current row."""
    if d.name == "duckdb":
        return f"last_value({expr} IGNORE NULLS)"
    return f"last_value({expr}, true)"


def _requests(f: SpanFilter, params: dict[str, Any]) -> str:
    """CTEs ``requests`` (root SERVER spans in the window that pass the filters) and ``kept``
    (those at or above the ``--slowest`` percentile of their root operation's duration).

    The percentile is the latency analysis's (exact, linear interpolation), written out from
    the ranks so that both engines (and the generator's truth) do the same float arithmetic
    and a request exactly at the threshold is kept on each.
    """
    roots = replace(f, kinds=("SERVER",), root_only=True)
    where = span_where(roots, params)
    sql = f"""
        requests AS (
            SELECT trace_id, span_id, service_name, span_name,
                   start_time_unix_nano AS start_ns, end_time_unix_nano AS end_ns
            FROM spans WHERE {where}
        )"""
    if f.slowest is None:
        return sql + ", kept AS (SELECT * FROM requests)"
    params["fraction"] = f.slowest / 100.0
    return (
        sql
        + """, ranked AS (
            SELECT service_name, span_name, CAST(end_ns - start_ns AS DOUBLE) AS duration,
                   row_number() OVER (PARTITION BY service_name, span_name
                                      ORDER BY end_ns - start_ns) - 1 AS pos,
                   (count(*) OVER (PARTITION BY service_name, span_name) - 1) * :fraction AS h,
                   count(*) OVER (PARTITION BY service_name, span_name) - 1 AS last_pos
            FROM requests
        ), bounds AS (
            SELECT service_name, span_name, max(h) AS h,
                   max(CASE WHEN pos = floor(h) THEN duration END) AS lo,
                   max(CASE WHEN pos = least(floor(h) + 1, last_pos) THEN duration END) AS hi
            FROM ranked GROUP BY service_name, span_name
        ), kept AS (
            SELECT r.* FROM requests r JOIN bounds b
              ON b.service_name = r.service_name AND b.span_name = r.span_name
            WHERE CAST(r.end_ns - r.start_ns AS DOUBLE) >= b.lo + (b.h - floor(b.h)) * (b.hi - b.lo)
        )"""
    )


@dataclass(frozen=True)
class Step:
    """A relation the next steps read, computed once (a recursive CTE evaluates what it joins
    again at every level, so its inputs are materialized: ``Engine.materialize``)."""

    name: str
    sql: str


@dataclass(frozen=True)
class Plan:
    steps: list[Step]
    rows: str  # reads the steps' relations
    params: dict[str, Any]  # of every step

    def params_of(self, sql: str) -> dict[str, Any]:
        """The bound parameters one statement uses (DuckDB rejects the others)."""
        return {name: self.params[name] for name in set(_PARAM.findall(sql)) & set(self.params)}


def plan(f: SpanFilter, d: Dialect, run: str = "") -> Plan:
    """The analysis as materialized steps and a final query (see the module docstring).

    ``run`` makes the relation names unique to one call (they live in the engine's session).
    """
    check_filter(f)
    params: dict[str, Any] = {}
    requests = _requests(f, params)
    # the requests' other spans: the window's days plus one (requests that cross midnight);
    # a span that ends before the window starts cannot overlap a request
    params["tree_to_day"] = params["to_day"] + timedelta(days=1)
    params["from_ns"] = _ns(f.window.start)
    kept, members, clip, pointers = (
        f"critical_path_{name}{run}" for name in ("kept", "members", "clip", "pointers")
    )
    steps = [
        Step(kept, f"WITH {requests} SELECT * FROM kept"),
        Step(members, _members_sql(kept)),
        Step(clip, _clip_sql(kept, members)),
        Step(pointers, _pointers_sql(d, clip)),
    ]
    return Plan(steps, _rows_sql(f, d, kept, clip, pointers), params)


def _members_sql(kept: str) -> str:
    """One row per span of a kept request's trace (a span stored twice counts once)."""
    return f"""SELECT trace_id, span_id, min(parent_span_id) AS parent_span_id,
                       min(service_name) AS service_name, min(span_name) AS span_name,
                       min(start_time_unix_nano) AS start_ns, min(end_time_unix_nano) AS end_ns
                FROM spans
                WHERE date >= :from_day AND date <= :tree_to_day AND parent_span_id <> ''
                  AND end_time_unix_nano > :from_ns
                  AND trace_id IN (SELECT trace_id FROM {kept})
                GROUP BY trace_id, span_id"""


def _clip_sql(kept: str, members: str) -> str:
    """Each kept request's tree, every span cut to its clipped parent's interval: trace_id,
    root_id, span_id, parent_id ('' for the root), service_name, span_name, start_ns, end_ns."""
    return f"""WITH RECURSIVE clip(trace_id, root_id, span_id, parent_id, service_name,
                                    span_name, start_ns, end_ns) AS (
                    SELECT trace_id, span_id, span_id, '', service_name, span_name, start_ns,
                           end_ns
                    FROM {kept}
                    UNION ALL
                    -- a child cut to its clipped parent's interval; nothing left of it: dropped,
                    -- and its subtree with it (never reached)
                    SELECT c.trace_id, c.root_id, m.span_id, c.span_id, m.service_name,
                           m.span_name, greatest(m.start_ns, c.start_ns), least(m.end_ns, c.end_ns)
                    FROM clip c JOIN {members} m
                      ON m.trace_id = c.trace_id AND m.parent_span_id = c.span_id
                    WHERE least(m.end_ns, c.end_ns) > greatest(m.start_ns, c.start_ns)
                )
                SELECT * FROM clip"""


def _pointers_sql(d: Dialect, clip: str) -> str:
    """The walk's moves, per clipped span: trace_id, from_id, to_id (from a span's end to the
    child the walk takes first, from a child's start to the sibling it takes next).

    Per parent, in time order: its children's ends (the candidates) and the points a walk
    moves to (its own end, its children's starts). Ends come first at equal times ("at or
    before"); among equal ends the smallest span_id comes last. The candidate last seen at a
    point is the child the walk takes there: from a span's end its first child, from a child's
    start the next sibling.
    """
    return f"""WITH events AS (
                    SELECT trace_id, parent_id AS owner, end_ns AS t, 0 AS kind, span_id,
                           span_id AS candidate
                    FROM {clip} WHERE parent_id <> ''
                    UNION ALL
                    SELECT trace_id, parent_id, start_ns, 1, span_id, NULL FROM {clip}
                    WHERE parent_id <> ''
                    UNION ALL
                    SELECT trace_id, span_id, end_ns, 1, span_id, NULL FROM {clip}
                )
                SELECT trace_id, span_id AS from_id, target AS to_id FROM (
                    SELECT trace_id, span_id, kind,
                           {_last_non_null(d, "candidate")} OVER (
                               PARTITION BY trace_id, owner ORDER BY t, kind, span_id DESC
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS target
                    FROM events
                ) e
                WHERE kind = 1 AND target IS NOT NULL"""


def _rows_sql(f: SpanFilter, d: Dialect, kept: str, clip: str, pointers: str) -> str:
    """The path (the requests' closure under the pointers), each span's own time on it, and
    the rows summed by service (and operation). On Spark the final SELECT is one partition
    (``Dialect.small_result_hint``), so that sorting its few rows samples nothing."""
    keys = ["service_name"] + (["span_name"] if f.by == "operation" else [])
    key_list = ", ".join(keys)
    o_keys = ", ".join("o." + k for k in keys)
    return f"""
        WITH RECURSIVE path(trace_id, span_id) AS (
            SELECT trace_id, span_id FROM {kept}
            UNION ALL
            SELECT p.trace_id, n.to_id
            FROM path p JOIN {pointers} n ON n.trace_id = p.trace_id AND n.from_id = p.span_id
        ),
        on_path AS (
            SELECT c.* FROM {clip} c
            JOIN path p ON p.trace_id = c.trace_id AND p.span_id = c.span_id
        ),
        busy AS (
            SELECT trace_id, parent_id, sum(end_ns - start_ns) AS child_ns
            FROM on_path GROUP BY trace_id, parent_id
        ),
        per_request AS (
            -- a span on the path owns its clipped length less its children's on the path
            SELECT o.trace_id, o.root_id, {o_keys},
                   sum(o.end_ns - o.start_ns - coalesce(b.child_ns, 0)) AS own_ns
            FROM on_path o
            LEFT JOIN busy b ON b.trace_id = o.trace_id AND b.parent_id = o.span_id
            GROUP BY o.trace_id, o.root_id, {o_keys}
        ),
        total AS (SELECT sum(end_ns - start_ns) AS request_ns FROM {kept})
        SELECT {d.small_result_hint()} {key_list}, sum(own_ns) / 1e6 AS critical_ms,
               CAST(sum(own_ns) AS DOUBLE) / max(t.request_ns) AS share,
               count(*) AS traces, sum(own_ns) / 1e6 / count(*) AS mean_critical_ms
        FROM per_request CROSS JOIN total t
        WHERE own_ns > 0
        GROUP BY {key_list}
        ORDER BY critical_ms DESC, {key_list}"""


def _ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (no float on the way)."""
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def critical_path(engine: Engine, f: SpanFilter) -> list[dict[str, Any]]:
    """The rows on ``engine``: the steps' relations are made, read, and released again."""
    built = plan(f, engine.dialect, run=f"_{uuid.uuid4().hex[:12]}")
    if engine.dialect.name == "spark":
        for conf in SPARK_RECURSION_LIMITS:
            engine.query(f"SET {conf} = -1", {}, [])
    made: list[str] = []
    try:
        for step in built.steps:
            tables = ["spans"] if "FROM spans" in step.sql else []
            engine.materialize(step.name, step.sql, built.params_of(step.sql), tables)
            made.append(step.name)
        return engine.query(built.rows, {}, [])
    finally:
        for name in reversed(made):
            engine.release(name)
