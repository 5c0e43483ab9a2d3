"""The ``anomalies`` Delta table (``schemas/tables/anomalies.json``): one row per scored service
and minute. Writing a window replaces that window's rows, so a rerun does not duplicate them.

DuckDB runs write with delta-rs (no JVM); Spark runs write with Spark (any lake URI Spark reads).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from otellake import lake, schemas
from otellake.analytics.window import Window, iso_z
from otellake.settings import Settings

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import SparkSession

TABLE = "anomalies"


def arrow_schema() -> pa.Schema:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
    }
    fields = schemas.table(TABLE).schema_json["fields"]
    return pa.schema([pa.field(f["name"], types[f["type"]]) for f in fields])


def table_rows(
    scored: pd.DataFrame, trained: Window, computed_at: datetime
) -> list[dict[str, Any]]:
    """The scored minutes as rows of the table (NULL, not NaN, for a missing feature)."""
    columns = schemas.table(TABLE).columns
    rows = []
    for record in scored.to_dict("records"):
        row = {c: record.get(c) for c in columns}
        for key, value in row.items():
            if isinstance(value, float):  # numpy floats too; NaN: the feature is missing
                row[key] = None if value != value else float(value)
        minute = record["minute"].to_pydatetime()
        row |= {
            "minute": minute,
            "is_anomaly": bool(record["is_anomaly"]),
            "trained_from": trained.start,
            "trained_to": trained.end,
            "computed_at": computed_at,
            "date": minute.date(),
        }
        rows.append(row)
    return rows


def _predicate(window: Window) -> str:
    return f"minute >= '{iso_z(window.start)}' AND minute < '{iso_z(window.end)}'"


def write(
    settings: Settings,
    rows: list[dict[str, Any]],
    window: Window,
    spark: SparkSession | None = None,
) -> str:
    """Replace the table's rows of ``window`` by ``rows``; returns the table's path."""
    path = lake.table_path(settings, TABLE)
    if spark is not None:
        lake.ensure_table(spark, settings, TABLE)
        frame = spark.createDataFrame(rows, schema=schemas.table(TABLE).spark_schema())
        (
            frame.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", _predicate(window))
            .save(path)
        )
        return path
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake
    from deltalake.exceptions import TableNotFoundError

    data = pa.Table.from_pylist(rows, schema=arrow_schema())
    try:
        DeltaTable(path)
    except TableNotFoundError:
        write_deltalake(
            path,
            data,
            mode="append",
            partition_by=list(schemas.table(TABLE).partition_by),
            configuration=dict(lake.TABLE_PROPERTIES),
        )
        return path
    write_deltalake(path, data, mode="overwrite", predicate=_predicate(window))
    return path
