"""`otellake generate`: a simulated shop's telemetry to Kafka or the Collector, with its ground
truth (the simulation is ``otellake.generate``; this module reads options and reports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from otellake.cli import output


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
    output.note(
        f"generating {plan.spans} spans from {iso(plan.start_ns)} over "
        f"{plan.duration_ns / 1e9:g} s (seed {options.seed}) to {where}"
    )
    with output.progress_bar("spans", plan.spans) as update:
        result = run(settings, options, update)
    sizes = describe(result) if options.mode == "kafka" else ""
    output.say(
        f"wrote {result.spans} spans, {result.logs} log records, {result.metric_points} metric "
        f"points in {result.seconds:.1f} s ({result.spans_per_s:,.0f} spans/s) to {where}"
        + (f": {sizes}" if sizes else "")
    )
    window = result.truth["window"]
    output.say(f"window [{window['from']}, {window['to']})")
    if options.truth is not None:
        output.say(f"truth: {options.truth}")
