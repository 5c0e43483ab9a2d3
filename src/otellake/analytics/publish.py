"""Append an analysis result to its ``analytics_<analysis>`` Delta table (for dashboards).

The rows keep their columns; each row also gets ``window_from``, ``window_to``, ``engine``,
``computed_at`` and ``options`` (the filter that produced it, as JSON). Different options give
different columns (``--by operation`` adds ``span_name``, ``--bucket`` adds ``bucket_start``),
so the append merges the schema: older rows read new columns as NULL. Time columns are
TIMESTAMP in the table (ISO-8601 strings in the JSON output).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from otellake import lake
from otellake.analytics.queries import SpanFilter
from otellake.analytics.window import parse_instant
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from otellake.analytics.api import Result

TIME_COLUMNS = {"bucket_start", "first_seen", "last_seen", "start_time"}


def table_name(analysis: str) -> str:
    return "analytics_" + analysis.replace("-", "_")


def _options(span_filter: SpanFilter) -> str:
    options = {k: v for k, v in asdict(span_filter).items() if k != "window" and v}
    return json.dumps(options, sort_keys=True, default=str)


def _schema(rows: list[dict[str, Any]]) -> Any:
    from pyspark.sql import types as T

    fields = []
    for name in rows[0]:
        sample = next((r[name] for r in rows if r[name] is not None), None)
        if name in TIME_COLUMNS:
            kind: Any = T.TimestampType()
        elif isinstance(sample, bool):
            kind = T.BooleanType()
        elif isinstance(sample, int):
            kind = T.LongType()
        elif isinstance(sample, str):
            kind = T.StringType()
        else:  # floats, and columns that are NULL in every row
            kind = T.DoubleType()
        fields.append(T.StructField(name, kind))
    return T.StructType(fields)


def save(
    spark: SparkSession, settings: Settings, result: Result, span_filter: SpanFilter
) -> tuple[str, int]:
    """Append the rows; returns (table path, rows written). An empty result writes nothing."""
    from pyspark.sql import functions as F

    path = lake.table_path(settings, table_name(result.analysis))
    if not result.rows:
        return path, 0
    rows = [
        {k: parse_instant(v, k) if k in TIME_COLUMNS and v else v for k, v in r.items()}
        for r in result.rows
    ]
    df = spark.createDataFrame(rows, _schema(rows)).select(
        "*",
        F.lit(parse_instant(result.window["from"], "from")).alias("window_from"),
        F.lit(parse_instant(result.window["to"], "to")).alias("window_to"),
        F.lit(result.engine).alias("engine"),
        F.lit(datetime.now(UTC)).alias("computed_at"),
        F.lit(_options(span_filter)).alias("options"),
    )
    df.write.format("delta").mode("append").option("mergeSchema", "true").save(path)
    return path, len(rows)
