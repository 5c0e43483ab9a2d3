"""`generate --mode kafka`, then `ingest --available-now`: lake and analytics equal the truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from otellake.analytics import api
from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.analytics.queries import SpanFilter
from otellake.analytics.window import resolve_window
from otellake.cli import app
from otellake.settings import Settings
from tests.conftest import settings_env
from tests.generate.records import assert_rows_equal
from tests.ingest.conftest import ingest_now, read_table

runner = CliRunner()
TABLES = (
    "spans",
    "logs",
    "metrics_gauge",
    "metrics_sum",
    "metrics_histogram",
    "metrics_exp_histogram",
    "metrics_summary",
)


def generate(settings: Settings, tmp_path: Path, *args: str) -> dict[str, Any]:
    truth_path = tmp_path / "truth.json"
    result = runner.invoke(
        app,
        ["generate", "--truth", str(truth_path), *args],
        env=settings_env(settings),
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    return json.loads(truth_path.read_text())  # type: ignore[no-any-return]


def check_lake(spark: Any, settings: Settings, truth: dict[str, Any]) -> None:
    counts = {table: read_table(spark, settings, table).count() for table in TABLES}
    assert counts == truth["tables"]
    assert read_table(spark, settings, "quarantine").count() == 0
    window = resolve_window(None, truth["window"]["from"], truth["window"]["to"])
    for engine in (DuckDBEngine(settings), SparkEngine(spark, settings)):
        for analysis in ("latency", "errors"):
            for by in ("service", "operation"):
                rows = api.run(analysis, SpanFilter(window, by=by), engine).rows  # type: ignore[arg-type]
                assert_rows_equal(rows, truth[analysis][f"by_{by}"])


def test_kafka_proto_run_lands_exactly_as_the_truth_says(
    lake_settings: Settings, spark: Any, tmp_path: Path
) -> None:
    truth = generate(
        lake_settings,
        tmp_path,
        *("--spans", "30000", "--duration", "10m", "--seed", "3"),
        *("--start", "2026-02-01T23:55:00Z", "--encoding", "otlp_proto"),
    )
    assert truth["tables"]["spans"] == 30_000
    ingest_now(spark, lake_settings, signals=("traces", "logs", "metrics"))
    check_lake(spark, lake_settings, truth)
    # spans cross midnight: two date partitions
    dates = {
        r[0] for r in read_table(spark, lake_settings, "spans").select("date").distinct().collect()
    }
    assert len(dates) == 2
    # the command line answers the same, on either engine
    window = ["--from", truth["window"]["from"], "--to", truth["window"]["to"]]
    for args, expected in (
        (["latency", "--by", "operation"], truth["latency"]["by_operation"]),
        (["errors", "--engine", "spark"], truth["errors"]["by_service"]),
    ):
        result = runner.invoke(
            app,
            ["analyze", *args, *window, "--format", "json"],
            env={"OTELLAKE_LAKE": lake_settings.lake},
        )
        assert result.exit_code == 0, result.output
        assert_rows_equal(json.loads(result.output)["rows"], expected)


def test_kafka_json_run_lands_exactly_as_the_truth_says(
    lake_settings: Settings, spark: Any, tmp_path: Path
) -> None:
    # OTELLAKE_ENCODING=otlp_json: the generator's default encoding and ingest's alike
    settings = lake_settings.model_copy(update={"encoding": "otlp_json"})
    truth = generate(
        settings,
        tmp_path,
        *("--spans", "6000", "--rate", "50", "--seed", "4", "--start", "2026-02-03T08:00:00Z"),
    )
    ingest_now(spark, settings, signals=("traces", "logs", "metrics"))
    check_lake(spark, settings, truth)
