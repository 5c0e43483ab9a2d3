"""The report of the shop history: every section and chart, offline, rendered by Chromium;
the same figures on Spark; an empty window says so."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.analytics.window import Window, iso_z
from otellake.cli import app
from otellake.report.build import write_report
from otellake.report.collect import SECTIONS
from tests.conftest import settings_env
from tests.report.chromium import render
from tests.shop_history import ShopHistory

CHARTS = ("error-rate", "latency", "critical-path", "dependencies", "anomalies")
HISTORY = timedelta(minutes=60)


def window(history: ShopHistory) -> Window:
    """The last two hours of the history: both incidents are inside; the previous window is
    the two hours before (only the last of them has data), which also trains the anomaly
    models."""
    return Window(history.end - timedelta(hours=2), history.end)


@pytest.fixture(scope="module")
def report(history: ShopHistory, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("reports")
    w = window(history)
    args = ["report", "--from", iso_z(w.start), "--to", iso_z(w.end), "--history", "60m"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)], env=settings_env(history.settings))
    assert result.exit_code == 0, result.output
    stem = f"report-{w.end:%Y%m%dT%H%M%SZ}"
    assert f"report: {out / stem}.html" in result.output.replace("\n", "")
    return out / f"{stem}.html", out / f"{stem}.json"


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}">(.*?)</section>', page, flags=re.S)
    assert found, f"section {name} missing"
    return found.group(1)


def test_every_section_and_chart_is_there_and_not_empty(
    report: tuple[Path, Path], history: ShopHistory
) -> None:
    html_path, json_path = report
    page = html_path.read_text()
    for name in SECTIONS:
        body = re.sub(r"<h2>.*?</h2>", "", _section(page, name))
        assert len(re.sub(r"<[^>]+>", "", body).strip()) > 20, name
    for chart in CHARTS:
        found = re.search(rf'id="chart-{chart}" [^>]*src="data:image/png;base64,([^"]+)"', page)
        assert found, chart
        png = base64.b64decode(found.group(1))
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, chart
    # self-contained: nothing is fetched from anywhere
    assert not re.findall(r'(?:src|href)="(?!data:)', page)
    assert "<script" not in page and "<link" not in page

    summary = json.loads(json_path.read_text())
    assert list(summary) == ["report", *SECTIONS]
    assert summary["report"]["window"] == window(history).iso()
    assert summary["report"]["empty"] is False
    headline = summary["headline"]
    assert headline["entry_service"] == "frontend"
    assert headline["requests"] > 5000 and 0 < headline["error_rate"] < 0.2
    assert headline["p50_ms"] < headline["p95_ms"] < headline["p99_ms"]
    services = {r["service_name"] for r in summary["errors_by_service"]}
    assert services == {r["service_name"] for r in history.truth["errors"]["by_service"]}
    failing = next(i for i in history.truth["incidents"] if i["kind"] == "errors")
    # the service that failed 30% of the time in this window leads the error chart's callees
    assert failing["service_name"] in [r["service_name"] for r in summary["errors_by_service"][:3]]
    assert {r["service_name"] for r in summary["latency_over_time"]["rows"]} == services
    assert summary["latency_over_time"]["bucket"] == "1m"
    assert summary["top_exceptions"] and summary["top_log_templates"]
    edges = {(e["caller"], e["callee"]) for e in summary["dependencies"]}
    assert ("frontend", "checkout") in edges and ("checkout", "payment") in edges
    anomalies = summary["anomalies"]
    assert anomalies["status"] == "scored"
    assert failing["service_name"] in {r["service_name"] for r in anomalies["rows"]}
    changes = {r["service_name"]: r for r in summary["changes"]["services"]}
    assert (
        changes[failing["service_name"]]["error_rate"]
        > 2 * (changes[failing["service_name"]]["error_rate_before"])
    )
    assert summary["changes"]["previous_window"] == {
        "from": iso_z(history.end - timedelta(hours=4)),  # its first hour precedes the history
        "to": iso_z(history.end - timedelta(hours=2)),
    }


def test_report_renders_in_headless_chromium_without_console_errors(
    report: tuple[Path, Path], tmp_path: Path
) -> None:
    shown = render(report[0], tmp_path / "profile")
    assert shown.errors == []
    assert [s["id"] for s in shown.sections] == list(SECTIONS)
    assert all(s["height"] > 50 and s["text"] > 20 for s in shown.sections), shown.sections
    assert [i["id"] for i in shown.images] == [f"chart-{c}" for c in CHARTS]
    assert all(i["complete"] and i["width"] >= 600 for i in shown.images), shown.images


def test_the_render_check_sees_console_errors_and_broken_images(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><section id='s'>text</section><img id='gone' src='missing.png'>"
        "<script>console.error('boom')</script></body></html>"
    )
    shown = render(page, tmp_path / "profile")
    assert "boom" in shown.errors
    assert any("ERR_FILE_NOT_FOUND" in e for e in shown.errors)
    assert shown.images == [{"id": "gone", "complete": True, "width": 0, "height": 0}]


def test_spark_builds_the_same_report(
    report: tuple[Path, Path], history: ShopHistory, spark: Any, tmp_path: Path
) -> None:
    _, json_path, _ = write_report(
        SparkEngine(spark, history.settings), window(history), tmp_path, HISTORY
    )
    duckdb = json.loads(report[1].read_text())
    on_spark = json.loads(json_path.read_text())
    assert on_spark["report"]["engine"] == "spark"
    for name in ("headline", "errors_by_service", "critical_path", "dependencies", "changes"):
        assert _close(on_spark[name], duckdb[name]), name
    assert _close(on_spark["anomalies"]["rows"], duckdb["anomalies"]["rows"])


def _close(a: Any, b: Any) -> bool:
    """Equal up to 1e-9 relative on floats (engines sum in different orders)."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_an_empty_window_gives_a_report_that_says_so(history: ShopHistory, tmp_path: Path) -> None:
    later = history.end + timedelta(hours=2)
    html_path, json_path, data = write_report(
        DuckDBEngine(history.settings), Window(later, later + timedelta(hours=1)), tmp_path
    )
    assert data.empty
    assert "No requests in" in html_path.read_text()
    summary = json.loads(json_path.read_text())
    assert summary["report"]["empty"] is True
    assert summary["headline"]["requests"] == 0
    assert all(summary[name] is None for name in SECTIONS[1:])
