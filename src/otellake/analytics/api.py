"""The Python API (notebooks, CLI, jobs): run an analysis on an engine, get rows back.

>>> from otellake.analytics import api
>>> result = api.analyze("latency", since="1h", by="operation")      # DuckDB, OTELLAKE_LAKE
>>> result.to_pandas()
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from otellake.analytics import queries
from otellake.analytics.critical_path import critical_path
from otellake.analytics.deps import deps
from otellake.analytics.dialects import Dialect
from otellake.analytics.engines import Engine, make_engine
from otellake.analytics.log_templates import log_errors
from otellake.analytics.metrics import metrics
from otellake.analytics.queries import Query, SpanFilter
from otellake.analytics.search import search
from otellake.analytics.slo import (
    DEFAULT_OBJECTIVE,
    parse_latency_threshold,
    parse_objective,
    slo,
)
from otellake.analytics.trace import parse_trace_id, trace
from otellake.analytics.window import Window, bucket_seconds, resolve_window
from otellake.durations import parse_duration
from otellake.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

    from otellake.settings import Settings

SQL_ANALYSES: dict[str, Callable[[SpanFilter, Dialect], Query]] = {
    "errors": queries.errors,
    "latency": queries.latency,
    "exceptions": queries.exceptions,
    "log-errors": log_errors,
    "deps": deps,
}
# Analyses that run more than one query (or finish in Python), the same code on both engines.
PROCEDURES: dict[str, Callable[[Engine, SpanFilter], list[dict[str, Any]]]] = {
    "search": search,
    "metrics": metrics,
    "critical-path": critical_path,
    "slo": slo,
}
ANALYSES = (
    "errors",
    "latency",
    "exceptions",
    "log-errors",
    "deps",
    "trace",
    "search",
    "metrics",
    "critical-path",
    "slo",
)
# Analyses that look at every span kind unless the caller narrows them.
ALL_KINDS_BY_DEFAULT = {"exceptions", "search"}
# Analyses whose rows are per operation unless `--by service` collapses them.
BY_OPERATION_BY_DEFAULT = {"critical-path"}
# What an empty answer is about, for the plain "nothing here" message.
SUBJECT = {
    "log-errors": "error logs",
    "metrics": "metric points",
    "trace": "trace",
    "critical-path": "requests",
}


@dataclass(frozen=True)
class Result:
    analysis: str
    engine: str
    window: dict[str, str]
    rows: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)  # trace: {"logs": [...]}

    def as_json(self) -> dict[str, Any]:
        return {
            "analysis": self.analysis,
            "engine": self.engine,
            "window": self.window,
            "rows": self.rows,
            **self.extra,
        }

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows)


def run(analysis: str, span_filter: SpanFilter, engine: Engine) -> Result:
    """Run one analysis; an unknown ``service`` is an error that names close matches."""
    if analysis not in ANALYSES:
        raise BadInput(f"unknown analysis {analysis!r}; expected one of {list(ANALYSES)}")
    if analysis == "trace":
        return _trace(span_filter, engine)
    extra: dict[str, Any] = {}
    if analysis in PROCEDURES:
        rows = PROCEDURES[analysis](engine, span_filter)
    else:
        query = SQL_ANALYSES[analysis](span_filter, engine.dialect)
        rows = engine.query(query.sql, query.params, query.tables, query.spark_conf)
    if not rows and span_filter.service is not None:
        _check_service(span_filter, engine)
    return Result(analysis, engine.name, span_filter.window.iso(), rows, extra)


def _trace(span_filter: SpanFilter, engine: Engine) -> Result:
    trace_id = parse_trace_id(span_filter.trace_id)
    found = trace(engine, trace_id)
    if found is None:
        return Result("trace", engine.name, span_filter.window.iso(), [], {"logs": []})
    return Result("trace", engine.name, found.window.iso(), found.spans, {"logs": found.logs})


def _check_service(span_filter: SpanFilter, engine: Engine) -> None:
    query = queries.services(span_filter, engine.dialect)
    known = [r["service_name"] for r in engine.query(query.sql, query.params, query.tables)]
    if known and span_filter.service not in known:
        close = difflib.get_close_matches(span_filter.service or "", known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; services: {known[:10]}"
        raise BadInput(f"unknown service {span_filter.service!r} in this window{hint}")


def parse_attrs(pairs: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``key=value`` strings → pairs (the value may itself contain '=')."""
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--attr {pair!r}: expected key=value, e.g. http.route=/cart")
        parsed.append((key.strip(), value))
    return tuple(parsed)


def make_filter(
    analysis: str,
    *,
    since: str | None = None,
    start: str | None = None,
    end: str | None = None,
    window: Window | None = None,
    service: str | None = None,
    by: str | None = None,
    bucket: str | None = None,
    kinds: str | tuple[str, ...] | None = None,
    root_only: bool = False,
    name: str | None = None,
    attrs: list[str] | tuple[str, ...] = (),
    min_duration: str | None = None,
    status: str | None = None,
    trace_id: str | None = None,
    metric: str | None = None,
    limit: int | None = None,
    objective: float | str | None = None,
    latency_threshold: str | None = None,
    slowest: float | str | None = None,
) -> SpanFilter:
    """A SpanFilter from the CLI's option values (strings), checked with clear messages."""
    if isinstance(kinds, str):
        kinds = tuple(k.strip().upper() for k in kinds.split(",") if k.strip())
    if not kinds:
        kinds = queries.SPAN_KINDS if analysis in ALL_KINDS_BY_DEFAULT else queries.DEFAULT_KINDS
    min_duration_ns = None
    if min_duration is not None:
        try:
            min_duration_ns = parse_duration(min_duration) // timedelta(microseconds=1) * 1000
        except ValueError as exc:
            raise BadInput(f"--min-duration: {exc}") from None
    by = by or ("operation" if analysis in BY_OPERATION_BY_DEFAULT else "service")
    return SpanFilter(
        window or resolve_window(since, start, end),
        service=service,
        kinds=kinds,
        root_only=root_only,
        by=by,  # type: ignore[arg-type]
        bucket_s=bucket_seconds(bucket),
        name=name,
        attrs=parse_attrs(attrs),
        min_duration_ns=min_duration_ns,
        status=status.upper() if status else None,
        limit=limit,
        trace_id=trace_id,
        metric=metric,
        slowest=_slowest(analysis, slowest),
        **_slo_options(analysis, objective, latency_threshold),
    )


def _slowest(analysis: str, slowest: float | str | None) -> float | None:
    """``--slowest P`` as a number, for ``critical-path`` only."""
    if slowest is None:
        return None
    if analysis != "critical-path":
        raise BadInput("--slowest is for `analyze critical-path` only")
    try:
        return float(slowest)
    except ValueError:
        raise BadInput(f"--slowest {slowest!r}: expected a percentile such as 99") from None


def _slo_options(
    analysis: str, objective: float | str | None, latency_threshold: str | None
) -> dict[str, Any]:
    """``objective`` (percent, default 99.9) and ``latency_threshold_ns`` for ``slo``; the
    options are refused elsewhere rather than silently ignored."""
    if analysis != "slo":
        given = [
            option
            for option, value in (
                ("--objective", objective),
                ("--latency-threshold", latency_threshold),
            )
            if value is not None
        ]
        if given:
            verb = "is" if len(given) == 1 else "are"
            raise BadInput(f"{' and '.join(given)} {verb} for `analyze slo` only")
        return {}
    return {
        "objective": parse_objective(DEFAULT_OBJECTIVE if objective is None else objective),
        "latency_threshold_ns": (
            None if latency_threshold is None else parse_latency_threshold(latency_threshold)
        ),
    }


def analyze(
    analysis: str,
    *,
    engine: str | Engine | None = None,
    settings: Settings | None = None,
    spark: SparkSession | None = None,
    **options: Any,
) -> Result:
    """One call for notebooks: ``analyze("errors", since="24h", by="operation")``.

    ``options`` are the CLI's options by their Python names (since, start, end, service, by,
    bucket, kinds, root_only, name, attrs, min_duration, status, trace_id, metric, limit, and
    for ``slo`` objective (percent, default 99.9) and latency_threshold such as ``"300ms"``,
    for ``critical-path`` slowest, a percentile such as 99).
    """
    from otellake.settings import load_settings

    settings = settings or load_settings()
    if engine is None or isinstance(engine, str):
        engine = make_engine(engine or settings.engine, settings, spark)
    return run(analysis, make_filter(analysis, **options), engine)
