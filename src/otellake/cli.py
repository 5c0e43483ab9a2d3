"""`otellake`: the command line. Thin: parse options, load settings, call the package."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from otellake.errors import BadInput, OtelLakeError
from otellake.settings import Settings, env_var_for, load_settings

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _settings_help() -> str:
    lines = ["Settings (environment variables, default):\n"]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default not in (None, "", ()) else "unset"
        if name == "lake":
            default = "$OTELLAKE_HOME/lake"
        lines.append(f"  {env_var_for(name)} = {default}  -- {field.description}\n")
    return "\n".join(lines)


app = typer.Typer(
    name="otellake",
    help="otel-lake: OpenTelemetry from Kafka into a Delta lake, analytics on DuckDB and Spark.",
    epilog=_settings_help(),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def handle_errors(func: F) -> F:
    """Exit 2 for bad input (naming the value), 1 for anything else the package raises."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"])
                err_console.print(
                    f"error: bad setting {env_var_for(where)}: {error['msg']} "
                    f"(got {error.get('input')!r})",
                    style="red",
                    highlight=False,
                )
            raise typer.Exit(2) from None
        except BadInput as exc:
            err_console.print(f"error: {exc}", style="red", highlight=False)
            raise typer.Exit(2) from None
        except OtelLakeError as exc:
            err_console.print(f"error: {exc}", style="red", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _progress(message: str) -> None:
    console.print(f"[dim]·[/dim] {message}", highlight=False)


@app.command()
@handle_errors
def setup() -> None:
    """Resolve Spark's connector jars and the broker's jars, build the Collector (cached)."""
    from otellake import provision

    for what, path in provision.setup_all(load_settings(), _progress).items():
        console.print(f"{what}: {path}", highlight=False)


@app.command()
@handle_errors
def up() -> None:
    """Start the Kafka broker, create the topics, start the Collector; wait until ready."""
    from otellake.stack import lifecycle

    settings = load_settings()
    _print_status(lifecycle.up(settings, _progress))


@app.command()
@handle_errors
def down() -> None:
    """Stop the Collector and the broker that `up` started (exactly those pids)."""
    from otellake.stack import lifecycle

    lifecycle.down(load_settings(), _progress)


@app.command()
@handle_errors
def status(
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Show each local service: ready / starting / stopped, pid, ports, log file."""
    from otellake.stack import lifecycle

    if output not in ("table", "json"):
        raise BadInput(f"unknown format {output!r}; expected 'table' or 'json'")
    from otellake.ingest.progress import last_batches
    from otellake.stack import spark_cluster

    settings = load_settings()
    states = lifecycle.status(settings) + spark_cluster.status(settings)
    batches = last_batches(settings)
    if output == "json":
        print(json.dumps({"services": [s.__dict__ for s in states], "queries": batches}))
        return
    _print_status(states)
    if batches:
        table = Table(
            "query", "last batch", "at", "records", "rows", "quarantined", "seconds", "kafka lag"
        )
        for b in batches:
            table.add_row(
                b["query"],
                str(b["batch_id"]),
                str(b["timestamp"]),
                str(b["records"]),
                str(b["rows"]),
                str(b["quarantined"]),
                str(b["duration_s"]),
                str(b["kafka_lag"]),
            )
        console.print(table)


def _print_status(states: list[Any]) -> None:
    table = Table("service", "state", "pid", "ports", "log")
    for s in states:
        colour = {"ready": "green", "starting": "yellow", "stopped": "red"}[s.state]
        ports = " ".join(f"{k}={v}" for k, v in s.ports.items())
        table.add_row(s.name, f"[{colour}]{s.state}[/{colour}]", str(s.pid or "-"), ports, s.log)
    console.print(table)


@app.command()
@handle_errors
def demo(
    keep_up: Annotated[bool, typer.Option(help="leave the stack running afterwards")] = False,
) -> None:
    """Bring the stack up, send telemetry through the Collector, show it in Kafka, stop."""
    from otellake.demo import run_demo

    settings = load_settings()
    run_demo(settings, console, _progress, keep_up=keep_up)


@app.command()
@handle_errors
def ingest(
    signal: Annotated[
        str, typer.Option(help="traces, logs, metrics or all (one query per signal)")
    ] = "all",
    available_now: Annotated[
        bool, typer.Option("--available-now", help="drain what Kafka holds now, then exit")
    ] = False,
    trigger: Annotated[
        str | None, typer.Option(help="trigger interval, e.g. 5s (default OTELLAKE_TRIGGER)")
    ] = None,
    starting_offsets: Annotated[
        str, typer.Option(help="earliest, latest or Spark's JSON form; new checkpoints only")
    ] = "earliest",
    starting_timestamp: Annotated[
        int | None, typer.Option(help="start at this Kafka timestamp (ms); new checkpoints only")
    ] = None,
    master: Annotated[str | None, typer.Option(help="Spark master URL")] = None,
    accept_data_loss: Annotated[
        bool,
        typer.Option(
            "--accept-data-loss",
            help="continue past offsets Kafka retention deleted (they are reported, not read)",
        ),
    ] = False,
) -> None:
    """Stream Kafka topics into the Delta lake: decode, quarantine bad input, exactly once."""
    from otellake.durations import parse_duration
    from otellake.ingest import IngestOptions, run_ingest, selected_signals
    from otellake.spark_session import build_spark_session

    overrides: dict[str, object] = {"spark_master": master} if master else {}
    settings = load_settings(**overrides)
    if trigger is not None:
        try:
            parse_duration(trigger)
        except ValueError as exc:
            raise BadInput(f"--trigger: {exc}") from None
    if starting_offsets not in ("earliest", "latest") and not starting_offsets.startswith("{"):
        raise BadInput(
            f"--starting-offsets {starting_offsets!r}; expected earliest, latest or a JSON object"
        )
    options = IngestOptions(
        signals=selected_signals(signal),
        available_now=available_now,
        trigger=trigger,
        starting_offsets=starting_offsets,
        starting_timestamp=starting_timestamp,
        accept_data_loss=accept_data_loss,
    )
    from otellake import kafka_clients

    kafka_clients.preflight(settings)  # a refused login fails before the JVM starts
    spark = build_spark_session(settings, app_name=f"otellake-ingest-{signal}")
    _progress(
        f"ingesting {', '.join(options.signals)} from {settings.kafka_bootstrap} "
        f"into {settings.lake}"
    )
    run_ingest(spark, settings, options, _progress)
    _progress("ingest stopped")


@app.command()
@handle_errors
def analyze(
    analysis: Annotated[
        str,
        typer.Argument(
            help="errors, latency, exceptions, log-errors, deps, trace, search, metrics, "
            "critical-path or slo"
        ),
    ],
    trace_id: Annotated[str | None, typer.Argument(help="the trace id, for `trace`")] = None,
    since: Annotated[str | None, typer.Option(help="window [now-D, now), e.g. 1h")] = None,
    start: Annotated[str | None, typer.Option("--from", help="window start, ISO-8601")] = None,
    end: Annotated[str | None, typer.Option("--to", help="window end (exclusive)")] = None,
    service: Annotated[str | None, typer.Option(help="only this service")] = None,
    by: Annotated[
        str | None,
        typer.Option(help="service or operation (default: service; critical-path: operation)"),
    ] = None,
    bucket: Annotated[str | None, typer.Option(help="1m, 5m or 1h")] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help="span kinds, comma-separated (default SERVER,CONSUMER; exceptions, search: all)"
        ),
    ] = None,
    root_only: Annotated[bool, typer.Option("--root-only", help="root spans only")] = False,
    name: Annotated[str | None, typer.Option(help="span name (search)")] = None,
    attr: Annotated[
        list[str] | None, typer.Option(help="key=value span/resource attribute, repeatable")
    ] = None,
    min_duration: Annotated[str | None, typer.Option(help="span duration ≥ D, e.g. 500ms")] = None,
    status: Annotated[str | None, typer.Option(help="ERROR, OK or UNSET")] = None,
    metric: Annotated[str | None, typer.Option(help="metric name (metrics)")] = None,
    slowest: Annotated[
        float | None,
        typer.Option(help="critical-path: only requests at or above this percentile, e.g. 99"),
    ] = None,
    objective: Annotated[
        str | None, typer.Option(help="slo: the objective in percent (default 99.9)")
    ] = None,
    latency_threshold: Annotated[
        str | None, typer.Option(help="slo: a good event is also no slower than D, e.g. 300ms")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="duckdb or spark (OTELLAKE_ENGINE)")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    limit: Annotated[int | None, typer.Option(min=1, help="at most N rows")] = None,
    save: Annotated[
        bool,
        typer.Option("--save", help="also append the rows to analytics_<analysis> (Spark)"),
    ] = False,
) -> None:
    """Answer an error, latency, dependency, trace, metrics, critical-path or SLO question."""
    from otellake.analytics import api
    from otellake.analytics.engines import make_engine

    if output not in ("table", "json", "csv"):
        raise BadInput(f"unknown format {output!r}; expected table, json or csv")
    if trace_id is not None and analysis != "trace":
        raise BadInput(f"unexpected argument {trace_id!r}: only `analyze trace` takes an id")
    settings = load_settings()
    engine = engine or settings.engine
    if save and (engine != "spark" or analysis == "trace"):
        raise BadInput(
            "--save writes analytics_<analysis> with Spark: add --engine spark "
            "(every analysis but trace)"
        )
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
        from otellake.analytics import publish

        spark = runner.spark  # type: ignore[attr-defined]
        path, written = publish.save(spark, settings, result, span_filter)
        err_console.print(f"appended {written} rows to {path}", highlight=False)
    if output == "json":
        print(json.dumps({**result.as_json(), "rows": rows}))
    elif output == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        if rows:
            writer.writerow(rows[0].keys())
            writer.writerows(r.values() for r in rows)
    else:
        _print_result(result, rows)


def _print_result(result: Any, rows: list[dict[str, Any]]) -> None:
    from otellake.analytics.api import SUBJECT

    window = result.window
    if not rows:
        if result.analysis == "trace":
            console.print("no such trace in the lake (the trace_index table has no row for it)")
        else:
            subject = SUBJECT.get(result.analysis, "matching spans")
            console.print(f"no {subject} between {window['from']} and {window['to']}")
        return
    _print_rows(f"{result.analysis} ({result.engine})", rows)
    logs = result.extra.get("logs")
    if logs:
        _print_rows(f"logs of the trace ({len(logs)})", logs)


def _print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(*rows[0].keys(), title=title)
    for r in rows:
        table.add_row(
            *(
                _float_cell(v) if isinstance(v, float) else ("" if v is None else str(v))
                for v in r.values()
            )
        )
    console.print(table)


def _float_cell(value: float) -> str:
    """Three decimals; a ratio just below 1 (an SLI, an objective) keeps the digits that show
    how far below 1 it is: 0.9995, not 1.000."""
    decimals = 3
    while 0.99 < value < 1 and round(value, decimals) == 1 and decimals < 9:
        decimals += 1
    return f"{value:.{decimals}f}"


from otellake import lake_commands as _lake_commands  # noqa: E402
from otellake.anomalies.command import anomalies as _anomalies  # noqa: E402
from otellake.benchmark.command import bench as _bench  # noqa: E402
from otellake.generate.command import generate as _generate  # noqa: E402
from otellake.report.command import report as _report  # noqa: E402

app.command("generate")(handle_errors(_generate))
app.command("bench")(handle_errors(_bench))
app.command("anomalies")(handle_errors(_anomalies))
app.command("report")(handle_errors(_report))


app.command("maintain")(handle_errors(_lake_commands.maintain))
app.command("delete")(handle_errors(_lake_commands.delete))
app.command("replay-quarantine")(handle_errors(_lake_commands.replay_quarantine))


@app.command("spark-conf")
@handle_errors
def spark_conf(
    master: Annotated[
        str | None,
        typer.Option(help="the master the job will run on (default OTELLAKE_SPARK_MASTER)"),
    ] = None,
) -> None:
    """Print the --conf/--jars arguments for spark-submit that match this installation."""
    from otellake.spark_session import session_conf

    conf = session_conf(load_settings(), master)
    conf.pop("spark.master")
    conf["spark.pyspark.python"] = sys.executable
    args = []
    for key, value in conf.items():
        args += ["--jars", value] if key == "spark.jars" else ["--conf", f"{key}={value}"]
    print(" ".join(args))


cluster_app = typer.Typer(
    help="A Spark standalone master and one worker on 127.0.0.1 (OTELLAKE_SPARK_MASTER_PORT, "
    "OTELLAKE_SPARK_UI_PORT); submit with --master spark://127.0.0.1:<port>.",
    no_args_is_help=True,
)
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("up")
@handle_errors
def cluster_up() -> None:
    """Start the master and the worker; wait until the worker is registered."""
    from otellake.stack import spark_cluster

    _print_status(spark_cluster.up(load_settings(), _progress))


@cluster_app.command("down")
@handle_errors
def cluster_down() -> None:
    """Stop the worker (and its executors), then the master: exactly the pids `up` started."""
    from otellake.stack import spark_cluster

    spark_cluster.down(load_settings(), _progress)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
