"""`otellake anomalies`: score the recent minutes of every service, save them, show the anomalies
(the detection is ``otellake.anomalies``; `jobs/anomalies.py` runs it with `--engine spark`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from otellake.cli import output
from otellake.errors import BadInput

if TYPE_CHECKING:
    from otellake.anomalies.run import AnomalyRun

SHOWN = ("service_name", "minute", "request_rate", "error_rate", "p95_ms", "cpu", "score")


def anomalies(
    since: Annotated[str | None, typer.Option(help="score [now-D, now), e.g. 1h")] = None,
    start: Annotated[str | None, typer.Option("--from", help="window start, ISO-8601")] = None,
    end: Annotated[str | None, typer.Option("--to", help="window end (exclusive)")] = None,
    history: Annotated[
        str, typer.Option(help="train on this much time before the window, e.g. 24h")
    ] = "24h",
    engine: Annotated[str | None, typer.Option(help="duckdb or spark (OTELLAKE_ENGINE)")] = None,
    fmt: output.EveryFormatOption = "table",
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

    checked = output.check_format(fmt, output.EVERY_FORMAT)
    try:
        history_span = parse_duration(history)
    except ValueError as exc:
        raise BadInput(f"--history: {exc}") from None
    settings = load_settings()
    window = resolve_window(since or (None if start or end else "1h"), start, end)
    runner = make_engine(engine or settings.engine, settings)
    result = run(runner, window, history_span)
    for service, why in result.detection.skipped.items():
        output.note(f"not scored: {service}: {why}")
    if save and not result.scored.empty:
        saved = table.table_rows(result.scored, result.trained, datetime.now(UTC))
        path = table.write(settings, saved, result.window, getattr(runner, "spark", None))
        output.note(f"wrote {len(saved)} scored minutes to {path}")
    rows = result.rows(everything)
    doc = {
        "analysis": "anomalies",
        "engine": runner.name,
        "window": result.window.iso(),
        "trained": result.trained.iso(),
        "rows": rows,
        "skipped": result.detection.skipped,
    }
    output.render(checked, doc, rows, lambda: _show(result, rows))


def _show(result: AnomalyRun, rows: list[dict[str, Any]]) -> None:
    """The anomalies newest first; an empty window or a quiet one said in words."""
    window_text = f"[{result.window.iso()['from']}, {result.window.iso()['to']})"
    if result.scored.empty:
        output.say(f"no requests in {window_text}: nothing to score")
    elif not rows:
        output.say(f"no anomalies in {window_text} ({len(result.scored)} service-minutes scored)")
    else:
        cells = [[*(_cell(row[c]) for c in SHOWN), row["severity"]] for row in rows]
        output.table([*SHOWN, "severity"], cells, title=f"anomalies {window_text}")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
