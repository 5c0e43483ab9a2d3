"""`otellake analyze`: output shapes and every bad-input message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from otellake.cli import app
from otellake.settings import Settings

runner = CliRunner()
WINDOW = ["--from", "2026-01-01T00:00:00Z", "--to", "2026-01-01T01:00:00Z"]


def _run(settings: Settings, *args: str) -> Any:
    return runner.invoke(
        app, ["analyze", *args], env={"OTELLAKE_LAKE": settings.lake}, terminal_width=200
    )


def test_json_shape(small_lake: Settings) -> None:
    result = _run(small_lake, "latency", *WINDOW, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["analysis"] == "latency" and doc["engine"] == "duckdb"
    assert doc["window"] == {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T01:00:00Z"}
    assert [r["service_name"] for r in doc["rows"]] == ["cart", "checkout"]
    assert set(doc["rows"][0]) == {
        "service_name",
        "count",
        "mean_ms",
        "max_ms",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
    }


def test_spark_engine_gives_the_same_json(small_lake: Settings, spark: Any) -> None:
    duck = json.loads(_run(small_lake, "errors", *WINDOW, "--format", "json").output)
    sp = json.loads(
        _run(small_lake, "errors", *WINDOW, "--format", "json", "--engine", "spark").output
    )
    assert sp["engine"] == "spark"
    assert sp["rows"] == duck["rows"]


def test_table_csv_and_limit(small_lake: Settings) -> None:
    table = _run(small_lake, "errors", *WINDOW, "--by", "operation")
    assert table.exit_code == 0 and "POST /pay" in table.output and "0.250" in table.output
    csv = _run(small_lake, "errors", *WINDOW, "--format", "csv", "--limit", "1")
    assert csv.output.splitlines() == [
        "service_name,spans,error_spans,error_rate,error_logs",
        "cart,2,1,0.5,0",
    ]


def test_empty_window_is_said_plainly(small_lake: Settings) -> None:
    result = _run(
        small_lake, "latency", "--from", "2025-01-01T00:00:00Z", "--to", "2025-01-01T01:00:00Z"
    )
    assert result.exit_code == 0
    assert "no matching spans between 2025-01-01T00:00:00Z and 2025-01-01T01:00:00Z" in (
        result.output
    )


def test_bad_inputs_name_the_value(small_lake: Settings, tmp_path: Path) -> None:
    cases = [
        (["latency", *WINDOW, "--service", "chekout"], 2, "did you mean checkout"),
        (["latency", "--since", "soon"], 2, "bad duration 'soon'"),
        (
            ["latency", "--from", "yesterday", "--to", "2026-01-01T00:00:00Z"],
            2,
            "--from 'yesterday'",
        ),
        (["latency", *WINDOW, "--bucket", "7m"], 2, "unknown bucket '7m'"),
        (["latency", *WINDOW, "--kind", "SERVRE"], 2, "unknown span kind(s) ['SERVRE']"),
        (["latency", *WINDOW, "--by", "host"], 2, "--by 'host'"),
        (["deps", *WINDOW], 2, "unknown analysis 'deps'"),
        (["latency", "--since", "1h", "--from", "2026-01-01T00:00:00Z"], 2, "either --since"),
        (["latency", *WINDOW, "--engine", "sqlite"], 2, "unknown engine 'sqlite'"),
    ]
    for args, code, message in cases:
        result = _run(small_lake, *args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, (args, result.output)
    missing = runner.invoke(
        app,
        ["analyze", "latency", *WINDOW],
        env={"OTELLAKE_LAKE": str(tmp_path / "nope")},
        terminal_width=200,
    )
    assert missing.exit_code == 1
    assert "no table 'spans'" in missing.output


def test_exceptions_look_at_every_kind_unless_narrowed(small_lake: Settings) -> None:
    every = json.loads(_run(small_lake, "exceptions", *WINDOW, "--format", "json").output)
    assert [(r["exception_type"], r["count"]) for r in every["rows"]] == [
        ("ValueError", 2),
        ("KeyError", 1),
    ]
    servers = json.loads(
        _run(small_lake, "exceptions", *WINDOW, "--kind", "SERVER", "--format", "json").output
    )
    assert [(r["exception_type"], r["count"]) for r in servers["rows"]] == [
        ("KeyError", 1),
        ("ValueError", 1),
    ]  # ties by type
