"""Delta tables of the lake: paths, creation from ``schemas/``, exactly-once appends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otellake import schemas
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TABLE_PROPERTIES = {
    # delta-rs (the DuckDB engine's reader) must be able to read every table.
    "delta.enableDeletionVectors": "false",
    "delta.checkpointInterval": "20",
}


def table_path(settings: Settings, table: str) -> str:
    return f"{settings.lake.rstrip('/')}/{table}"


def checkpoint_path(settings: Settings, query_name: str) -> str:
    return f"{settings.lake.rstrip('/')}/_checkpoints/{query_name}"


def ensure_table(spark: SparkSession, settings: Settings, table: str) -> str:
    """Create the Delta table from its schema file if it does not exist; returns its path."""
    from delta.tables import DeltaTable

    spec = schemas.table(table)
    path = table_path(settings, table)
    builder = (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .addColumns(spec.spark_schema())
        .partitionedBy(*spec.partition_by)
    )
    properties = {
        **TABLE_PROPERTIES,
        "delta.dataSkippingStatsColumns": ",".join(spec.stats_columns),
    }
    for key, value in properties.items():
        builder = builder.property(key, value)
    builder.execute()
    return path


def append_exactly_once(df: DataFrame, path: str, app_id: str, version: int) -> None:
    """Append unless this (app id, version) was committed before: Delta skips it then.

    A streaming batch retried after a crash carries the same batch id, so each of its outputs
    lands exactly once even though they are separate Delta transactions.
    """
    (
        df.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", version)
        .save(path)
    )
