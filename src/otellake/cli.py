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

    settings = load_settings()
    states = lifecycle.status(settings)
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
    from otellake.ingest.runner import IngestOptions, run_ingest, selected_signals
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
    analysis: Annotated[str, typer.Argument(help="errors, latency or exceptions (more follow)")],
    since: Annotated[str | None, typer.Option(help="window [now-D, now), e.g. 1h")] = None,
    start: Annotated[str | None, typer.Option("--from", help="window start, ISO-8601")] = None,
    end: Annotated[str | None, typer.Option("--to", help="window end (exclusive)")] = None,
    service: Annotated[str | None, typer.Option(help="only this service")] = None,
    by: Annotated[str, typer.Option(help="service or operation")] = "service",
    bucket: Annotated[str | None, typer.Option(help="1m, 5m or 1h")] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="span kinds, comma-separated (default SERVER,CONSUMER; exceptions: all)"),
    ] = None,
    root_only: Annotated[bool, typer.Option("--root-only", help="root spans only")] = False,
    engine: Annotated[str | None, typer.Option(help="duckdb or spark (OTELLAKE_ENGINE)")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    limit: Annotated[int | None, typer.Option(min=1, help="at most N rows")] = None,
) -> None:
    """Answer an error, latency or exception question from the lake (DuckDB or Spark)."""
    from otellake.analytics import api
    from otellake.analytics.engines import make_engine
    from otellake.analytics.queries import SpanFilter
    from otellake.analytics.window import bucket_seconds, iso_z, resolve_window

    if output not in ("table", "json", "csv"):
        raise BadInput(f"unknown format {output!r}; expected table, json or csv")
    settings = load_settings()
    window = resolve_window(since, start, end)
    span_filter = SpanFilter(
        window,
        service=service,
        by=by,  # type: ignore[arg-type]
        kinds=_kinds(kind, analysis),
        root_only=root_only,
        bucket_s=bucket_seconds(bucket),
    )
    result = api.run(analysis, span_filter, make_engine(engine or settings.engine, settings))
    rows = result.rows[:limit] if limit else result.rows
    if output == "json":
        print(json.dumps({**result.as_json(), "rows": rows}))
    elif output == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        if rows:
            writer.writerow(rows[0].keys())
            writer.writerows(r.values() for r in rows)
    elif not rows:
        console.print(f"no matching spans between {iso_z(window.start)} and {iso_z(window.end)}")
    else:
        table = Table(*rows[0].keys(), title=f"{analysis} ({result.engine})")
        for r in rows:
            table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()))
        console.print(table)


def _kinds(option: str | None, analysis: str) -> tuple[str, ...]:
    from otellake.analytics.api import ALL_KINDS_BY_DEFAULT
    from otellake.analytics.queries import DEFAULT_KINDS, SPAN_KINDS

    if option is None:
        return SPAN_KINDS if analysis in ALL_KINDS_BY_DEFAULT else DEFAULT_KINDS
    return tuple(k.strip().upper() for k in option.split(",") if k.strip())


@app.command("spark-conf")
@handle_errors
def spark_conf() -> None:
    """Print the --conf/--jars arguments for spark-submit that match this installation."""
    from otellake.spark_session import session_conf

    conf = session_conf(load_settings())
    conf.pop("spark.master")
    conf["spark.pyspark.python"] = sys.executable
    args = []
    for key, value in conf.items():
        args += ["--jars", value] if key == "spark.jars" else ["--conf", f"{key}={value}"]
    print(" ".join(args))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
