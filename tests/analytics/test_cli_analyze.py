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
        (["dependencies", *WINDOW], 2, "unknown analysis 'dependencies'"),
        (["search", *WINDOW, "--attr", "http.route"], 2, "--attr 'http.route': expected key=value"),
        (["search", *WINDOW, "--min-duration", "fast"], 2, "--min-duration: bad duration 'fast'"),
        (["search", *WINDOW, "--status", "BROKEN"], 2, "--status 'BROKEN'"),
        (["trace"], 2, "analyze trace needs a trace id"),
        (["trace", "abc"], 2, "malformed trace id 'abc'"),
        (["latency", "a" * 32], 2, "only `analyze trace` takes an id"),
        (["latency", *WINDOW, "--format", "xml"], 2, "unknown format 'xml'"),
        (["latency", "--since", "1h", "--from", "2026-01-01T00:00:00Z"], 2, "either --since"),
        (["latency", *WINDOW, "--engine", "sqlite"], 2, "unknown engine 'sqlite'"),
    ]
    for args, code, message in cases:
        result = _run(small_lake, *args)
        assert result.exit_code == code, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
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


DAY2 = ["--from", "2026-01-02T00:00:00Z", "--to", "2026-01-02T01:00:00Z"]


def test_every_analysis_answers_in_every_format(small_lake: Settings) -> None:
    commands = [
        ["errors", *DAY2],
        ["latency", *DAY2, "--by", "operation"],
        ["exceptions", *WINDOW],
        ["log-errors", *DAY2],
        ["deps", *DAY2],
        ["trace", "a" * 32],
        ["search", *DAY2, "--attr", "db.system=redis"],
        ["metrics", *DAY2, "--metric", "requests"],
    ]
    for args in commands:
        doc = json.loads(_run(small_lake, *args, "--format", "json").output)
        assert doc["analysis"] == args[0] and doc["rows"], args
        table = _run(small_lake, *args)
        assert table.exit_code == 0 and f"{args[0]} (duckdb)" in table.output, table.output
        csv = _run(small_lake, *args, "--format", "csv").output.splitlines()
        assert csv[0].split(",") == list(doc["rows"][0]) and len(csv) == len(doc["rows"]) + 1
    trace = json.loads(_run(small_lake, "trace", "a" * 32, "--format", "json").output)
    assert len(trace["logs"]) == 2 and trace["rows"][0]["depth"] == 0
    assert "logs of the trace (2)" in _run(small_lake, "trace", "a" * 32).output


def test_empty_answers_are_said_plainly(small_lake: Settings) -> None:
    gone = _run(small_lake, "trace", "1" * 32)
    assert gone.exit_code == 0 and "no such trace in the lake" in gone.output
    quiet = _run(small_lake, "log-errors", "--from", "2025-01-01T00:00:00Z", "--to",
                 "2025-01-01T01:00:00Z")  # fmt: skip
    assert quiet.exit_code == 0 and "no error logs between 2025-01-01T00:00:00Z" in quiet.output
