"""Detection on the back-dated shop history: the scheduled incidents are found, few false
alarms, the `anomalies` table and command, both engines."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from deltalake import DeltaTable
from typer.testing import CliRunner

from otellake import lake, schemas
from otellake.analytics.engines import DuckDBEngine
from otellake.analytics.window import Window, iso_z
from otellake.anomalies import table
from otellake.anomalies.run import AnomalyRun, run
from otellake.cli import app
from tests.conftest import settings_env
from tests.shop_history import ShopHistory

runner = CliRunner()
GRACE = timedelta(minutes=2)
TRAIN = timedelta(minutes=60)  # the first hour, before either incident


def scoring_window(history: ShopHistory) -> Window:
    return Window(history.start + TRAIN, history.end)


def figures(history: ShopHistory, result: AnomalyRun) -> dict[str, Any]:
    """Recall over the incidents, precision and false alarms per service-hour of the rest."""
    windows = [
        (i["service_name"], pd.Timestamp(i["from"]), pd.Timestamp(i["to"]) + GRACE)
        for i in history.truth["incidents"]
    ]

    def in_incident(minute: pd.Timestamp, service: str | None = None) -> bool:
        return any(lo <= minute <= hi for s, lo, hi in windows if service in (None, s))

    flagged = result.anomalies
    detected = [
        any(r.service_name == s and lo <= r.minute <= hi for r in flagged.itertuples())
        for s, lo, hi in windows
    ]
    false = [r for r in flagged.itertuples() if not in_incident(r.minute)]
    # anomalies of other services during an incident (callers of the failing one) are
    # symptoms, not false alarms; those of the incident's own service only, for the record
    strict = [r for r in flagged.itertuples() if not in_incident(r.minute, r.service_name)]
    normal_minutes = sum(not in_incident(m) for m in result.scored["minute"])
    return {
        "incidents": len(windows),
        "recall": sum(detected) / len(windows),
        "anomalies": len(flagged),
        "false_alarms": len(false),
        "precision": (len(flagged) - len(false)) / len(flagged) if len(flagged) else 1.0,
        "false_alarms_per_service_hour": len(false) / (normal_minutes / 60),
        "outside_own_incident": len(strict),
    }


def test_scheduled_incidents_are_detected_with_few_false_alarms(history: ShopHistory) -> None:
    assert {i["kind"] for i in history.truth["incidents"]} == {"latency", "errors"}
    result = run(DuckDBEngine(history.settings), scoring_window(history), TRAIN)
    assert result.trained == Window(history.start, history.start + TRAIN)
    assert result.detection.skipped == {}
    assert set(result.scored["service_name"]) == {
        s["service_name"] for s in history.truth["span_counts"]["by_service"]
    } - {"postgresql", "redis"}
    measured = figures(history, result)
    print("anomaly detection:", json.dumps(measured))
    assert measured["recall"] >= 0.8, measured
    assert measured["false_alarms_per_service_hour"] <= 1.0, measured
    assert result.anomalies["severity"].isin(["medium", "high", "critical"]).all()


def test_command_writes_the_table_and_a_rerun_replaces_its_window(
    history: ShopHistory, spark: Any
) -> None:
    # a copy of the lake, so the other tests see no anomalies table
    settings = history.settings.model_copy(update={"lake": history.settings.lake + "-anomalies"})
    shutil.copytree(history.settings.lake, settings.lake)
    window = scoring_window(history)
    args = [
        "anomalies",
        *("--from", iso_z(window.start), "--to", iso_z(window.end), "--history", "60m"),
        *("--format", "json", "--all"),
    ]
    first = runner.invoke(app, args, env=settings_env(settings))
    assert first.exit_code == 0, first.output
    answer = json.loads(first.stdout)
    assert answer["window"] == {"from": iso_z(window.start), "to": iso_z(window.end)}
    assert answer["trained"] == {"from": iso_z(history.start), "to": iso_z(window.start)}
    flagged = [r for r in answer["rows"] if r["is_anomaly"]]
    assert flagged
    path = lake.table_path(settings, "anomalies")
    written = DeltaTable(path).to_pandas()
    assert list(written.columns) == schemas.table("anomalies").columns
    minutes = int((window.end - window.start) / timedelta(minutes=1))
    # every scored minute is saved: each service and minute with requests (a quiet service
    # may see none in some minute at this rate)
    assert minutes * 9 * 0.98 <= len(written) == len(answer["rows"]) <= minutes * 9
    assert written["is_anomaly"].sum() == len(flagged)
    # Spark reads it with the golden schema; Spark writing the window again replaces its rows
    frame = spark.read.format("delta").load(path)
    assert json.loads(frame.schema.json()) == schemas.table("anomalies").schema_json
    result = run(DuckDBEngine(settings), window, TRAIN)
    rows = table.table_rows(result.scored, result.trained, datetime.now(UTC))
    table.write(settings, rows, result.window, spark)
    again = spark.read.format("delta").load(path)
    assert again.count() == len(written)
    spark_flags = {(r.service_name, r.minute) for r in again.where("is_anomaly").collect()}
    cli_flags = {
        (r["service_name"], pd.Timestamp(r["minute"]).to_pydatetime().replace(tzinfo=None))
        for r in flagged
    }
    assert spark_flags == cli_flags
    # a table Spark creates, delta-rs writes to as well (and the other way round, above)
    fresh = settings.model_copy(update={"lake": settings.lake + "-fresh"})
    table.write(fresh, rows, result.window, spark)
    table.write(fresh, rows, result.window)
    assert DeltaTable(lake.table_path(fresh, "anomalies")).to_pandas().shape == written.shape
