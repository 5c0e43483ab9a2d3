"""`otellake anomalies`: score the recent minutes of every service, save them, print the anomalies
(registered in ``otellake.cli``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from otellake.errors import BadInput

console = Console()
err_console = Console(stderr=True)
SHOWN = ("service_name", "minute", "request_rate", "error_rate", "p95_ms", "cpu", "score")


def anomalies(
    since: Annotated[str | None, typer.Option(help="score [now-D, now), e.g. 1h")] = None,
    start: Annotated[str | None, typer.Option("--from", help="window start, ISO-8601")] = None,
    end: Annotated[str | None, typer.Option("--to", help="window end (exclusive)")] = None,
    history: Annotated[
        str, typer.Option(help="train on this much time before the window, e.g. 24h")
    ] = "24h",
    engine: Annotated[str | None, typer.Option(help="duckdb or spark (OTELLAKE_ENGINE)")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    everything: Annotated[
        bool, typer.Option("--all", help="every scored minute, not only the anomalies")
    ] = False,
    save: Annotated[
        bool, typer.Option(help="write the scored minutes to the anomalies table")
    ] = True,
) -> None:
    """Which services behave unusually: IsolationForest per service on per-minute request rate,
    error rate, p95 latency, cpu and memory, trained on --history before the window."""
    from otellake.analytics.engines import make_engine
    from otellake.analytics.window import resolve_window
    from otellake.anomalies import table
    from otellake.anomalies.run import run
    from otellake.durations import parse_duration
    from otellake.settings import load_settings

    if output not in ("table", "json", "csv"):
        raise BadInput(f"unknown format {output!r}; expected table, json or csv")
    try:
        history_span = parse_duration(history)
    except ValueError as exc:
        raise BadInput(f"--history: {exc}") from None
    settings = load_settings()
    window = resolve_window(since or (None if start or end else "1h"), start, end)
    runner = make_engine(engine or settings.engine, settings)
    result = run(runner, window, history_span)
    for service, why in result.detection.skipped.items():
        err_console.print(f"not scored: {service}: {why}", highlight=False)
    if save and not result.scored.empty:
        rows = table.table_rows(result.scored, result.trained, datetime.now(UTC))
        path = table.write(settings, rows, result.window, getattr(runner, "spark", None))
        err_console.print(f"wrote {len(rows)} scored minutes to {path}", highlight=False)
    rows = result.rows(everything)
    if output == "json":
        print(
            json.dumps(
                {
                    "analysis": "anomalies",
                    "engine": runner.name,
                    "window": result.window.iso(),
                    "trained": result.trained.iso(),
                    "rows": rows,
                    "skipped": result.detection.skipped,
                }
            )
        )
        return
    if output == "csv":
        import csv
        import sys

        writer = csv.writer(sys.stdout)
        if rows:
            writer.writerow(rows[0].keys())
            writer.writerows(r.values() for r in rows)
        return
    window_text = f"[{result.window.iso()['from']}, {result.window.iso()['to']})"
    if result.scored.empty:
        console.print(f"no requests in {window_text}: nothing to score", highlight=False)
        return
    if not rows:
        console.print(
            f"no anomalies in {window_text} ({len(result.scored)} service-minutes scored)",
            highlight=False,
        )
        return
    view = Table(*SHOWN, "severity", title=f"anomalies {window_text}")
    for row in rows:
        view.add_row(*(_cell(row[c]) for c in SHOWN), row["severity"])
    console.print(view)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
