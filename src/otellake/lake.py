"""Delta tables of the lake: paths, creation from ``schemas/``, exactly-once appends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otellake import schemas
from otellake.errors import OtelLakeError
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


class SchemaMismatch(OtelLakeError):
    """An existing table differs from ``schemas/`` in a way that is not additive."""


SCHEMA_VERSION_PROPERTY = "otellake.schema.version"


def ensure_table(spark: SparkSession, settings: Settings, table: str) -> str:
    """Create the Delta table from its schema file, or evolve it in place; returns its path.

    Evolution is additive only: columns that ``schemas/`` has and the table lacks are added
    at their place (older rows read them as NULL). A removed or retyped column is refused,
    never applied: the lake keeps its data.
    """
    from delta.tables import DeltaTable

    spec = schemas.table(table)
    path = table_path(settings, table)
    if DeltaTable.isDeltaTable(spark, path):
        evolve_table(spark, path, spec)
        return path
    builder = (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .addColumns(spec.spark_schema())
        .partitionedBy(*spec.partition_by)
    )
    properties = {
        **TABLE_PROPERTIES,
        "delta.dataSkippingStatsColumns": ",".join(spec.stats_columns),
        SCHEMA_VERSION_PROPERTY: str(schemas.contract_version()),
    }
    for key, value in properties.items():
        builder = builder.property(key, value)
    builder.execute()
    return path


def evolve_table(spark: SparkSession, path: str, spec: schemas.TableSpec) -> list[str]:
    """Add the columns ``spec`` has and the table at ``path`` lacks; returns their names.

    Runs at every ingest start, so an up-to-date table costs reads only, no commit.
    """
    from delta.tables import DeltaTable

    detail = DeltaTable.forPath(spark, path).detail().select("properties").first()
    recorded = (detail[0] or {}).get(SCHEMA_VERSION_PROPERTY) if detail else None
    current = {f.name: f for f in spark.read.format("delta").load(path).schema.fields}
    wanted = spec.spark_schema()
    removed = [name for name in current if name not in wanted.fieldNames()]
    retyped = [
        f"{f.name} ({current[f.name].dataType.simpleString()} -> {f.dataType.simpleString()})"
        for f in wanted.fields
        if f.name in current and current[f.name].dataType != f.dataType
    ]
    if removed or retyped:
        raise SchemaMismatch(
            f"table {path} does not match schemas/tables/{spec.name}.json: "
            f"columns missing from the schema file {removed}, retyped {retyped}; only added "
            "columns evolve in place (a removal or type change needs a migration)"
        )
    added: list[str] = []
    previous: str | None = None
    for field in wanted.fields:
        if field.name not in current:
            position = f"AFTER `{previous}`" if previous else "FIRST"
            spark.sql(
                f"ALTER TABLE delta.`{path}` ADD COLUMNS "
                f"(`{field.name}` {field.dataType.simpleString()} {position})"
            )
            added.append(field.name)
        previous = field.name
    version = str(schemas.contract_version())
    if added or recorded != version:
        spark.sql(
            f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES "
            f"('{SCHEMA_VERSION_PROPERTY}' = '{version}')"
        )
    return added


def commit_conflicts() -> tuple[type[Exception], ...]:
    """Delta's commit-conflict exceptions (a concurrent commit changed what a command read)."""
    from delta import exceptions as e

    return (
        e.DeltaConcurrentModificationException,
        e.ConcurrentWriteException,
        e.MetadataChangedException,
        e.ProtocolChangedException,
        e.ConcurrentAppendException,
        e.ConcurrentDeleteReadException,
        e.ConcurrentDeleteDeleteException,
        e.ConcurrentTransactionException,
    )


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
