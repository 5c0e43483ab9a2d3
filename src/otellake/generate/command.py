"""`otellake generate`: the typer command (registered in ``otellake.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err_console = Console(stderr=True)
console = Console()


def generate(
    mode: Annotated[
        str, typer.Option(help="kafka (records straight to the topics) or collector (OTel SDK)")
    ] = "kafka",
    encoding: Annotated[
        str | None,
        typer.Option(help="otlp_proto or otlp_json, for --mode kafka (default OTELLAKE_ENCODING)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="same seed, same telemetry and truth")] = 1,
    spans: Annotated[
        int | None, typer.Option(help="exactly N spans (over N/100 s unless --rate/--duration)")
    ] = None,
    rate: Annotated[str | None, typer.Option(help="spans per second, e.g. 500")] = None,
    duration: Annotated[
        str | None, typer.Option(help="simulated time the run covers, e.g. 10m (default 60s)")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="time of the first request, ISO-8601, e.g. 2026-01-01T00:00:00Z"),
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="write the ground truth (counts, latency, errors) here")
    ] = None,
    incidents: Annotated[
        bool, typer.Option(help="schedule a latency and an error incident")
    ] = True,
) -> None:
    """Simulate a microservice shop and write its traces, logs and metrics, with ground truth.

    Spans arrive evenly over the simulated time, which starts at --start (or now); by
    default 100 spans/s for 60 s. --mode kafka writes whole export requests to the topics
    as the Collector's kafka exporter does; --mode collector sends through the Collector.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from otellake.generate.kafka_sink import describe
    from otellake.generate.options import build_options
    from otellake.generate.run import generate as run
    from otellake.generate.truth import iso
    from otellake.settings import load_settings

    settings = load_settings()
    options = build_options(
        mode=mode,
        encoding=encoding,
        default_encoding=settings.encoding,
        seed=seed,
        spans=spans,
        rate=rate,
        duration=duration,
        start=start,
        truth=truth,
        incidents=incidents,
    )
    plan = options.plan
    where = (
        f"Kafka {settings.kafka_bootstrap} ({options.encoding})"
        if options.mode == "kafka"
        else f"the Collector at 127.0.0.1:{settings.otlp_grpc_port}"
    )
    err_console.print(
        f"generating {plan.spans} spans from {iso(plan.start_ns)} over "
        f"{plan.duration_ns / 1e9:g} s (seed {options.seed}) to {where}",
        highlight=False,
    )
    with Progress(
        TextColumn("spans"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("spans", total=plan.spans, rate="")

        def progress(sent: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate_text = f"{sent / elapsed:,.0f}/s" if elapsed > 0 else ""
            bar.update(task, completed=sent, rate=rate_text)

        result = run(settings, options, progress)
    sizes = describe(result) if options.mode == "kafka" else ""
    console.print(
        f"wrote {result.spans} spans, {result.logs} log records, {result.metric_points} metric "
        f"points in {result.seconds:.1f} s ({result.spans_per_s:,.0f} spans/s) to {where}"
        + (f": {sizes}" if sizes else ""),
        highlight=False,
    )
    window = result.truth["window"]
    console.print(f"window [{window['from']}, {window['to']})", highlight=False)
    if options.truth is not None:
        console.print(f"truth: {options.truth}", highlight=False)
