"""The analyses, each defined once: a function that builds SQL for a dialect plus its params.

Semantics are pinned in docs/contract.md ("Analytics semantics"): window [from, to)
on the span start time, SERVER+CONSUMER kinds by default, the error-span rule (status ERROR,
or a SERVER span whose HTTP status is 5xx), exact percentiles with linear interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from otellake.analytics import attributes
from otellake.analytics.dialects import Dialect
from otellake.analytics.footers import UNKNOWN, Facts
from otellake.analytics.window import Window, day_range
from otellake.errors import BadInput
from otellake.otlp_values import SPAN_KINDS, STATUS_CODES

DEFAULT_KINDS = ("SERVER", "CONSUMER")
HTTP_STATUS = "http.response.status_code"
LEGACY_HTTP_STATUS = "http.status_code"  # semantic conventions before 1.23
By = Literal["service", "operation"]


@dataclass(frozen=True)
class SpanFilter:
    """What every span analysis shares: window, service, kinds, roots, buckets."""

    window: Window
    service: str | None = None
    kinds: tuple[str, ...] = DEFAULT_KINDS
    root_only: bool = False
    by: By = "service"
    bucket_s: int | None = None
    # search
    name: str | None = None
    attrs: tuple[tuple[str, str], ...] = ()
    min_duration_ns: int | None = None
    status: str | None = None
    limit: int | None = None
    # trace and metrics
    trace_id: str | None = None
    metric: str | None = None
    # slo: the objective in percent (99.9), the latency a good event stays within
    objective: float | None = None
    latency_threshold_ns: int | None = None
    # critical-path: keep the requests at or above this percentile (0-100) of their operation
    slowest: float | None = None

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in SPAN_KINDS]
        if unknown:
            raise BadInput(f"unknown span kind(s) {unknown}; expected some of {list(SPAN_KINDS)}")
        if self.by not in ("service", "operation"):
            raise BadInput(f"--by {self.by!r}; expected 'service' or 'operation'")
        if self.status is not None and self.status not in STATUS_CODES:
            raise BadInput(f"--status {self.status!r}; expected one of {list(STATUS_CODES)}")
        if self.slowest is not None and not 0 <= self.slowest <= 100:
            raise BadInput(f"--slowest {self.slowest!r}; expected a percentile from 0 to 100")


@dataclass(frozen=True)
class Query:
    sql: str
    params: dict[str, Any]
    tables: list[str]
    # Spark SQL settings for this query alone (the Spark engine sets them around it)
    spark_conf: dict[str, str] = field(default_factory=dict)


def span_where(f: SpanFilter, params: dict[str, Any], facts: Facts = UNKNOWN) -> str:
    """The filter's WHERE clause; ``facts`` (the footers of the files the query reads) leave
    out the attribute and error-rule parts that cannot hold there (``footers.py``)."""
    window_params(f, params)
    clauses = [
        "date >= :from_day",
        "date <= :to_day",
        "start_time >= :from_ts",
        "start_time < :to_ts",
    ]
    # every kind (search's default): no clause, span_kind is always one of them (the decoder
    # writes UNSPECIFIED for a kind it does not know); the IN list cost a join per scan
    if not set(SPAN_KINDS) <= set(f.kinds):
        kinds = []
        for i, kind in enumerate(f.kinds):
            params[f"kind_{i}"] = kind
            kinds.append(f":kind_{i}")
        clauses.append(f"span_kind IN ({', '.join(kinds)})")
    if f.service is not None:
        params["service"] = f.service
        clauses.append("service_name = :service")
    if f.root_only:
        clauses.append("parent_span_id = ''")
    if f.name is not None:
        params["span_name"] = f.name
        clauses.append("span_name = :span_name")
    for i, (key, value) in enumerate(f.attrs):
        # Tempo's `.key = value`: a span attribute, or a resource attribute of the span, in
        # its dedicated column or in the map (attributes.py)
        clauses.append(attributes.any_map_equals_sql(key, value, params, f"attr_{i}", facts))
    if f.min_duration_ns is not None:
        params["min_duration_ns"] = f.min_duration_ns
        clauses.append("duration_ns >= :min_duration_ns")
    if f.status == "ERROR":
        clauses.append(is_error_span(facts))
    elif f.status is not None:
        params["status"] = f.status
        clauses.append(f"status_code = :status AND NOT {is_error_span(facts)}")
    return " AND ".join(clauses)


def window_params(f: SpanFilter, params: dict[str, Any]) -> None:
    first_day, last_day = day_range(f.window)
    params |= {
        "from_ts": f.window.start,
        "to_ts": f.window.end,
        "from_day": first_day,
        "to_day": last_day,
    }


def timestamp_where(f: SpanFilter, params: dict[str, Any]) -> str:
    """Rows of a table with a ``timestamp`` column (logs, metric points) in the window and,
    if given, of the service."""
    window_params(f, params)
    clauses = [
        "date >= :from_day",
        "date <= :to_day",
        "timestamp >= :from_ts",
        "timestamp < :to_ts",
    ]
    if f.service is not None:
        params["service"] = f.service
        clauses.append("service_name = :service")
    return " AND ".join(clauses)


def _keys(f: SpanFilter, d: Dialect, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(expression, output name) of the grouping keys, in output order."""
    keys = [("service_name", "service_name")]
    if f.by == "operation":
        keys.append(("span_name", "span_name"))
    if f.bucket_s is not None:
        params["bucket_ns"] = f.bucket_s * 1_000_000_000
        start = d.int_div("start_time_unix_nano", ":bucket_ns") + " * :bucket_ns"
        keys.append((d.ts_from_micros(d.int_div(start, "1000")), "bucket_start"))
    return keys


def _grouped_spans(
    f: SpanFilter, d: Dialect, params: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], str, str]:
    """WHERE clause, keys, ``expr AS name`` select list and GROUP BY list of a span query."""
    where = span_where(f, params)
    keys = _keys(f, d, params)
    key_cols = ", ".join(f"{expr} AS {name}" for expr, name in keys)
    group = ", ".join(name for _, name in keys)
    return where, keys, key_cols, group


def is_error_span(facts: Facts = UNKNOWN) -> str:
    """Status ERROR, or a SERVER span whose HTTP status code is 5xx (new or legacy key; the
    new key's dedicated column or its map value). Never NULL: ``NOT is_error_span()`` (``--status
    UNSET``) keeps the spans without an HTTP status. ``facts``: as for :func:`span_where`."""
    status = attributes.int_value_sql(HTTP_STATUS, fallback=(LEGACY_HTTP_STATUS,), facts=facts)
    http_5xx = f"coalesce({status} BETWEEN 500 AND 599, false)"
    return f"(status_code = 'ERROR' OR (span_kind = 'SERVER' AND {http_5xx}))"


def latency(f: SpanFilter, d: Dialect) -> Query:
    params: dict[str, Any] = {}
    where, _keys_used, key_cols, group = _grouped_spans(f, d, params)
    stats = """count(*) AS count,
               avg(CAST(duration_ns AS DOUBLE)) / 1e6 AS mean_ms,
               max(CAST(duration_ns AS DOUBLE)) / 1e6 AS max_ms"""
    if not d.sorted_percentiles:
        pct = ", ".join(
            f"{d.percentile('duration_ns', p)} / 1e6 AS {_pct_name(p)}" for p in PERCENTILES
        )
        sql = f"""
            SELECT {key_cols}, {stats}, {pct}
            FROM spans WHERE {where}
            GROUP BY {group} ORDER BY {group}"""
        return Query(sql, params, ["spans"])
    # The same percentiles from each group's sorted durations (Dialect.sorted_percentiles): the
    # two values around position h = (n - 1) * p are interpolated as DuckDB's quantile_cont
    # does, lo + (h - floor(h)) * (hi - lo), so the engines agree to the bit. NULL durations are
    # not in the list (the aggregate ignores them too); a group without any has NULL ones.
    pcts: list[str] = []
    for i, p in enumerate(PERCENTILES):
        params[f"pct_{i}"] = p
        h = f"(n - 1) * :pct_{i}"
        lo = d.list_at("durations", f"floor({h}) + 1")
        hi = d.list_at("durations", f"least(floor({h}) + 1, n - 1) + 1")
        pcts.append(
            f"CASE WHEN n > 0 THEN ({lo} + ({h} - floor({h})) * ({hi} - {lo})) / 1e6 END"
            f" AS {_pct_name(p)}"
        )
    sql = f"""
        SELECT {d.small_result_hint()} {group}, count, mean_ms, max_ms, {", ".join(pcts)}
        FROM (
            SELECT *, {d.list_size("durations")} AS n FROM (
                SELECT {key_cols}, {stats}, {d.sorted_values("duration_ns")} AS durations
                FROM spans WHERE {where}
                GROUP BY {group}
            ) g
        ) s
        ORDER BY {group}"""
    # Spark: collect_list is an object aggregate, which leaves its hash map for a sort once a
    # task holds 128 groups (latency by operation: ~200); the lists are the same size either way
    return Query(sql, params, ["spans"], {SPARK_OBJECT_AGG_FALLBACK: "100000"})


SPARK_OBJECT_AGG_FALLBACK = "spark.sql.objectHashAggregate.sortBased.fallbackThreshold"
PERCENTILES = (0.5, 0.9, 0.95, 0.99)


def _pct_name(p: float) -> str:
    return f"p{int(p * 100)}_ms"


def errors(f: SpanFilter, d: Dialect) -> Query:
    params: dict[str, Any] = {}
    where, keys, key_cols, group = _grouped_spans(f, d, params)
    spans_sql = f"""
        SELECT {key_cols}, count(*) AS spans,
               sum(CASE WHEN {is_error_span()} THEN 1 ELSE 0 END) AS error_spans
        FROM spans WHERE {where} GROUP BY {group}"""
    # the final sorts below order a few rows: d.small_result_hint() keeps Spark from running
    # the aggregation again to sample them
    if f.by == "operation":
        sql = f"""
            SELECT {d.small_result_hint()} *, CAST(error_spans AS DOUBLE) / spans AS error_rate
            FROM ({spans_sql}) s ORDER BY {group}"""
        return Query(sql, params, ["spans"])
    # by service: also ERROR+ log records of the service in the same window (and bucket)
    log_keys = [("service_name", "service_name")]
    if f.bucket_s is not None:
        start = (
            d.int_div(
                "(CASE WHEN time_unix_nano <> 0 THEN time_unix_nano ELSE "
                "observed_time_unix_nano END)",
                ":bucket_ns",
            )
            + " * :bucket_ns"
        )
        log_keys.append((d.ts_from_micros(d.int_div(start, "1000")), "bucket_start"))
    log_cols = ", ".join(f"{expr} AS {name}" for expr, name in log_keys)
    log_group = ", ".join(name for _, name in log_keys)
    logs_sql = f"""
        SELECT {log_cols}, count(*) AS error_logs FROM logs
        WHERE {timestamp_where(f, params)} AND severity_number >= 17
        GROUP BY {log_group}"""
    join_on = " AND ".join(f"s.{name} = l.{name}" for _, name in log_keys)
    sql = f"""
        SELECT {d.small_result_hint()} s.*, CAST(s.error_spans AS DOUBLE) / s.spans AS error_rate,
               coalesce(l.error_logs, 0) AS error_logs
        FROM ({spans_sql}) s LEFT JOIN ({logs_sql}) l ON {join_on}
        ORDER BY {", ".join("s." + name for _, name in keys)}"""
    return Query(sql, params, ["spans", "logs"])


def exceptions(f: SpanFilter, d: Dialect) -> Query:
    """``exception`` span events grouped by type and message.

    Exceptions are recorded on spans of every kind (often CLIENT or INTERNAL), so this
    analysis looks at all kinds unless ``--kind`` narrows it.
    """
    params: dict[str, Any] = {}
    where = span_where(f, params)
    event_time = d.ts_from_micros(d.int_div("ev.time_unix_nano", "1000"))
    # the hint: one partition for the final sort of the few groups (as `errors`)
    sql = f"""
        SELECT {d.small_result_hint()}
               coalesce(ev.attributes['exception.type'], '') AS exception_type,
               coalesce(ev.attributes['exception.message'], '') AS exception_message,
               count(*) AS count,
               {d.sorted_distinct_join("service_name")} AS services,
               min({event_time}) AS first_seen, max({event_time}) AS last_seen,
               min(trace_id) AS sample_trace_id
        FROM (SELECT service_name, trace_id, {d.explode("events")} AS ev
              FROM spans WHERE {where}) x
        WHERE ev.name = 'exception'
        GROUP BY 1, 2
        ORDER BY count DESC, exception_type, exception_message"""
    return Query(sql, params, ["spans"])


def services(f: SpanFilter, d: Dialect) -> Query:
    """The services that have spans in the window (for "did you mean" on a typo)."""
    params: dict[str, Any] = {}
    plain = SpanFilter(f.window, kinds=SPAN_KINDS)
    where = span_where(plain, params)
    return Query(
        f"SELECT DISTINCT service_name FROM spans WHERE {where} ORDER BY service_name",
        params,
        ["spans"],
    )
