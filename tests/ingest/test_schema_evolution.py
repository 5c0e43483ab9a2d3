"""An additive schema change evolves existing tables in place; other changes are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from otellake import lake, schemas
from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import any_value, logs_request

REPO_SCHEMAS = schemas.schemas_dir()


def _schemas_without(tmp: Path, table: str, column: str, version: int) -> Path:
    """A copy of schemas/ as an older contract: ``column`` not yet in ``table``."""
    target = tmp / f"schemas-v{version}"
    shutil.copytree(REPO_SCHEMAS, target)
    path = target / "tables" / f"{table}.json"
    doc = json.loads(path.read_text())
    doc["schema"]["fields"] = [f for f in doc["schema"]["fields"] if f["name"] != column]
    path.write_text(json.dumps(doc))
    (target / "VERSION").write_text(f"{version}\n")
    return target


def _use(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setattr(schemas, "schemas_dir", lambda: folder)
    schemas.table.cache_clear()


def _log(body: str) -> bytes:
    record = LogRecord(
        time_unix_nano=1_700_000_000_000_000_000, body=any_value(body), event_name="ev"
    )
    return logs_request([({"service.name": "s"}, [("sc", "1", [record])])]).SerializeToString()


def test_added_column_evolves_the_table_in_place(
    lake_settings: Settings, spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        _use(monkeypatch, _schemas_without(tmp_path, "logs", "event_name", version=1))
        produce(lake_settings, lake_settings.topic_logs, [_log("old")])
        ingest_now(spark, lake_settings, signals=("logs",))
        assert "event_name" not in read_table(spark, lake_settings, "logs").columns

        _use(monkeypatch, REPO_SCHEMAS)  # the current contract: event_name exists
        produce(lake_settings, lake_settings.topic_logs, [_log("new")])
        ingest_now(spark, lake_settings, signals=("logs",))
    finally:
        schemas.table.cache_clear()

    df = read_table(spark, lake_settings, "logs")
    assert df.columns == schemas.table("logs").columns  # added at its place, not at the end
    rows = {r.body: r.event_name for r in df.collect()}
    assert rows == {"old": None, "new": "ev"}
    props = lake.table_properties(spark, lake.table_path(lake_settings, "logs"))
    assert props[lake.SCHEMA_VERSION_PROPERTY] == str(schemas.contract_version())


def test_removed_column_is_refused(
    lake_settings: Settings, spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake.ensure_table(spark, lake_settings, "logs")
    try:
        _use(monkeypatch, _schemas_without(tmp_path, "logs", "severity_text", version=9))
        with pytest.raises(lake.SchemaMismatch, match=r"\['severity_text'\]"):
            lake.ensure_table(spark, lake_settings, "logs")
    finally:
        schemas.table.cache_clear()


def test_table_properties_of_this_version_reach_existing_tables(spark: Any, tmp_path: Path) -> None:
    """A table created with an older checkpoint interval gets this version's at the next
    start, in one commit; an up-to-date table gets no commit."""
    from delta.tables import DeltaTable

    settings = Settings(home=tmp_path / "home", lake=str(tmp_path / "lake"))  # type: ignore[arg-type]
    path = lake.ensure_table(spark, settings, "logs")
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('delta.checkpointInterval' = '20')")
    table = DeltaTable.forPath(spark, path)
    before = table.history(1).first().version

    lake.ensure_table(spark, settings, "logs")
    lake.ensure_table(spark, settings, "logs")

    properties = table.detail().first().properties
    assert (
        properties["delta.checkpointInterval"] == lake.TABLE_PROPERTIES["delta.checkpointInterval"]
    )
    assert table.history(1).first().version == before + 1
