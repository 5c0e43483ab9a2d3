"""`otellake report`: the window's report as one HTML file and a JSON summary (built by
``otellake.report``; `jobs/report.py` runs it under spark-submit with `--engine spark`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from otellake.cli import output
from otellake.errors import BadInput


def report(
    since: Annotated[str, typer.Option(help="report on [now-D, now), e.g. 24h")] = "24h",
    start: Annotated[
        str | None, typer.Option("--from", help="window start, ISO-8601 (instead of --since)")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="window end (exclusive)")] = None,
    out: Annotated[Path, typer.Option(help="folder for report-<end>.html and .json")] = Path(
        "reports"
    ),
    engine: Annotated[str | None, typer.Option(help="duckdb or spark (OTELLAKE_ENGINE)")] = None,
    history: Annotated[
        str, typer.Option(help="anomaly models train on this much time before the window")
    ] = "24h",
) -> None:
    """Write the report: headline, error rate per service, latency over time, top exceptions
    and error-log templates, the dependency graph, anomalies, and changes versus the previous
    window. One self-contained HTML file (charts embedded, opens offline) plus JSON."""
    from otellake.analytics.engines import make_engine
    from otellake.analytics.window import resolve_window
    from otellake.durations import parse_duration
    from otellake.report.build import write_report
    from otellake.settings import load_settings

    try:
        history_span = parse_duration(history)
    except ValueError as exc:
        raise BadInput(f"--history: {exc}") from None
    settings = load_settings()
    window = resolve_window(None if start or end else since, start, end)
    runner = make_engine(engine or settings.engine, settings)
    html_path, json_path, data = write_report(runner, window, out, history_span)
    if data.empty:
        output.say(f"no requests in {window.iso()}: the report says so")
    output.say(f"summary: {json_path}")
    output.say(f"report: {html_path}")
