"""Collect, render, write: ``report-<window end>.html`` and ``.json`` in the output folder."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from otellake.analytics.engines import Engine
from otellake.analytics.window import Window
from otellake.anomalies.run import DEFAULT_HISTORY
from otellake.report.collect import ReportData, collect
from otellake.report.html import render
from otellake.settings import Settings


def write_report(
    engine: Engine, window: Window, out: Path, history: timedelta = DEFAULT_HISTORY
) -> tuple[Path, Path, ReportData]:
    data = collect(engine, window, history)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"report-{window.end:%Y%m%dT%H%M%SZ}"
    html_path, json_path = out / f"{stem}.html", out / f"{stem}.json"
    html_path.write_text(render(data), encoding="utf-8")
    json_path.write_text(json.dumps(data.summary(), indent=1) + "\n", encoding="utf-8")
    return html_path.resolve(), json_path.resolve(), data


def report_last(settings: Settings, since: str = "1h", out: Path | None = None) -> Path:
    """The DuckDB report of the last ``since`` into ``out`` (default $OTELLAKE_HOME/reports);
    returns the HTML file's path (what `make demo` prints last)."""
    from otellake.analytics.engines import DuckDBEngine
    from otellake.analytics.window import resolve_window

    html_path, _, _ = write_report(
        DuckDBEngine(settings), resolve_window(since, None, None), out or settings.home / "reports"
    )
    return html_path
