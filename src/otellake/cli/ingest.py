"""`otellake ingest`: the streaming job from Kafka into the lake (also `jobs/ingest.py` under
spark-submit, with exactly these options)."""

from __future__ import annotations

from typing import Annotated

import typer

from otellake.cli import output
from otellake.errors import BadInput
from otellake.settings import load_settings


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
    from otellake import kafka_clients
    from otellake.ingest import IngestOptions, run_ingest, selected_signals
    from otellake.spark_session import build_spark_session

    overrides: dict[str, object] = {"spark_master": master} if master else {}
    settings = load_settings(**overrides)
    _check_trigger(trigger)
    _check_starting_offsets(starting_offsets)
    options = IngestOptions(
        signals=selected_signals(signal),
        available_now=available_now,
        trigger=trigger,
        starting_offsets=starting_offsets,
        starting_timestamp=starting_timestamp,
        accept_data_loss=accept_data_loss,
    )
    kafka_clients.preflight(settings)  # a refused login fails before the JVM starts
    spark = build_spark_session(settings, app_name=f"otellake-ingest-{signal}")
    output.progress(
        f"ingesting {', '.join(options.signals)} from {settings.kafka_bootstrap} "
        f"into {settings.lake}"
    )
    run_ingest(spark, settings, options, output.progress, logged_in=True)
    output.progress("ingest stopped")


def _check_trigger(trigger: str | None) -> None:
    from otellake.durations import parse_duration

    if trigger is None:
        return
    try:
        parse_duration(trigger)
    except ValueError as exc:
        raise BadInput(f"--trigger: {exc}") from None


def _check_starting_offsets(starting_offsets: str) -> None:
    if starting_offsets not in ("earliest", "latest") and not starting_offsets.startswith("{"):
        raise BadInput(
            f"--starting-offsets {starting_offsets!r}; expected earliest, latest or a JSON object"
        )
