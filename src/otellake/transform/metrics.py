"""Decoded ``ExportMetricsServiceRequest`` records -> one row per data point, per type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from otellake import schemas
from otellake.transform.records import (
    batch_event_date,
    flatten_items,
    nanos_to_timestamp,
    service_name,
)


def points(table: str, ingested_at: datetime) -> Callable[[DataFrame], DataFrame]:
    """Data points of one metric type (the decoder's array of ``table``) as rows of its table."""
    time = F.col("time_unix_nano")
    field = schemas.table(table).metric_type
    if field is None:
        raise ValueError(
            f"table {table!r} is not a metric table; expected one of "
            f"{list(schemas.metric_tables())}"
        )
    # one row per data point: service_name, metric_name, ..., attributes, timestamp, values, date
    return flatten_items(
        field,
        table,
        lambda: {
            "service_name": service_name(F.col("resource_attributes")),
            "timestamp": nanos_to_timestamp(time),
            "date": batch_event_date(time),
        },
        ingested_at,
    )
