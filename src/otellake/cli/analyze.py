"""`otellake analyze`: one analysis of the lake on DuckDB or Spark, as a table, JSON or CSV
(also `jobs/analytics.py` under spark-submit, which adds `--engine spark --save`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from otellake.cli import output
from otellake.errors import BadInput
from otellake.settings import load_settings

if TYPE_CHECKING:
    from otellake.analytics.api import Result
    from otellake.analytics.engines import Engine
    from otellake.analytics.queries import SpanFilter
    from otellake.settings import Settings


# The command's options, one alias each: the signature below stays a list of names.
AnalysisArgument = Annotated[
    str,
    typer.Argument(
        help="errors, latency, exceptions, log-errors, deps, trace, search, metrics, "
        "critical-path or slo"
    ),
]
TraceIdArgument = Annotated[str | None, typer.Argument(help="the trace id, for `trace`")]
SinceOption = Annotated[str | None, typer.Option(help="window [now-D, now), e.g. 1h")]
FromOption = Annotated[str | None, typer.Option("--from", help="window start, ISO-8601")]
ToOption = Annotated[str | None, typer.Option("--to", help="window end (exclusive)")]
ServiceOption = Annotated[str | None, typer.Option(help="only this service")]
ByOption = Annotated[
    str | None,
    typer.Option(help="service or operation (default: service; critical-path: operation)"),
]
BucketOption = Annotated[str | None, typer.Option(help="1m, 5m or 1h")]
KindOption = Annotated[
    str | None,
    typer.Option(
        help="span kinds, comma-separated (default SERVER,CONSUMER; exceptions, search: all)"
    ),
]
RootOnlyOption = Annotated[bool, typer.Option("--root-only", help="root spans only")]
NameOption = Annotated[str | None, typer.Option(help="span name (search)")]
AttrOption = Annotated[
    list[str] | None, typer.Option(help="key=value span/resource attribute, repeatable")
]
MinDurationOption = Annotated[str | None, typer.Option(help="span duration ≥ D, e.g. 500ms")]
StatusOption = Annotated[str | None, typer.Option(help="ERROR, OK or UNSET")]
MetricOption = Annotated[str | None, typer.Option(help="metric name (metrics)")]
SlowestOption = Annotated[
    float | None,
    typer.Option(help="critical-path: only requests at or above this percentile, e.g. 99"),
]
ObjectiveOption = Annotated[
    str | None, typer.Option(help="slo: the objective in percent (default 99.9)")
]
LatencyThresholdOption = Annotated[
    str | None, typer.Option(help="slo: a good event is also no slower than D, e.g. 300ms")
]
EngineOption = Annotated[str | None, typer.Option(help="duckdb or spark (OTELLAKE_ENGINE)")]
LimitOption = Annotated[int | None, typer.Option(min=1, help="at most N rows")]
SaveOption = Annotated[
    bool, typer.Option("--save", help="also append the rows to analytics_<analysis> (Spark)")
]


def analyze(
    analysis: AnalysisArgument,
    trace_id: TraceIdArgument = None,
    since: SinceOption = None,
    start: FromOption = None,
    end: ToOption = None,
    service: ServiceOption = None,
    by: ByOption = None,
    bucket: BucketOption = None,
    kind: KindOption = None,
    root_only: RootOnlyOption = False,
    name: NameOption = None,
    attr: AttrOption = None,
    min_duration: MinDurationOption = None,
    status: StatusOption = None,
    metric: MetricOption = None,
    slowest: SlowestOption = None,
    objective: ObjectiveOption = None,
    latency_threshold: LatencyThresholdOption = None,
    engine: EngineOption = None,
    fmt: output.EveryFormatOption = "table",
    limit: LimitOption = None,
    save: SaveOption = False,
) -> None:
    """Answer an error, latency, dependency, trace, metrics, critical-path or SLO question."""
    from otellake.analytics import api
    from otellake.analytics.engines import make_engine

    checked = output.check_format(fmt, output.EVERY_FORMAT)
    if trace_id is not None and analysis != "trace":
        raise BadInput(f"unexpected argument {trace_id!r}: only `analyze trace` takes an id")
    settings = load_settings()
    engine = engine or settings.engine
    _check_save(analysis, engine, save)
    span_filter = api.make_filter(
        analysis,
        since=since,
        start=start,
        end=end,
        service=service,
        by=by,
        bucket=bucket,
        kinds=kind,
        root_only=root_only,
        name=name,
        attrs=attr or (),
        min_duration=min_duration,
        status=status,
        trace_id=trace_id,
        metric=metric,
        limit=limit,
        objective=objective,
        latency_threshold=latency_threshold,
        slowest=slowest,
    )
    runner = make_engine(engine, settings)
    result = api.run(analysis, span_filter, runner)
    rows = result.rows[:limit] if limit else result.rows
    if save:
        _save(runner, settings, result, span_filter)
    doc = {**result.as_json(), "rows": rows}
    output.render(checked, doc, rows, lambda: _show(result, rows))


def _check_save(analysis: str, engine: str, save: bool) -> None:
    """``--save`` writes with Spark, and not the trace lookup."""
    if save and (engine != "spark" or analysis == "trace"):
        raise BadInput(
            "--save writes analytics_<analysis> with Spark: add --engine spark "
            "(every analysis but trace)"
        )


def _save(runner: Engine, settings: Settings, result: Result, span_filter: SpanFilter) -> None:
    """Append the rows to ``analytics_<analysis>`` (the Spark engine's session writes)."""
    from otellake.analytics import publish

    spark = runner.spark  # type: ignore[attr-defined]
    path, written = publish.save(spark, settings, result, span_filter)
    output.note(f"appended {written} rows to {path}")


def _show(result: Result, rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows as a table titled by analysis and engine; an empty answer said in words."""
    from otellake.analytics.api import SUBJECT

    window = result.window
    if not rows:
        if result.analysis == "trace":
            output.say("no such trace in the lake (the trace_index table has no row for it)")
        else:
            subject = SUBJECT.get(result.analysis, "matching spans")
            output.say(f"no {subject} between {window['from']} and {window['to']}")
        return
    _show_rows(f"{result.analysis} ({result.engine})", rows)
    logs = result.extra.get("logs")
    if logs:
        _show_rows(f"logs of the trace ({len(logs)})", logs)


def _show_rows(title: str, rows: Sequence[Mapping[str, Any]]) -> None:
    cells = [[_cell(v) for v in r.values()] for r in rows]
    output.table(list(rows[0].keys()), cells, title=title)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return _float_cell(value)
    return "" if value is None else str(value)


def _float_cell(value: float) -> str:
    """Three decimals; a ratio just below 1 (an SLI, an objective) keeps the digits that show
    how far below 1 it is: 0.9995, not 1.000."""
    decimals = 3
    while 0.99 < value < 1 and round(value, decimals) == 1 and decimals < 9:
        decimals += 1
    return f"{value:.{decimals}f}"
