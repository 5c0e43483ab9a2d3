"""Decoded ``ExportMetricsServiceRequest`` records -> one row per data point, per type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from otellake.transform.records import (
    batch_event_date,
    flatten_items,
    nanos_to_timestamp,
    service_name,
)

# decoder array -> lake table
METRIC_TABLES = {
    "gauge": "metrics_gauge",
    "sum": "metrics_sum",
    "histogram": "metrics_histogram",
    "exp_histogram": "metrics_exp_histogram",
    "summary": "metrics_summary",
}


def points(field: str, ingested_at: datetime) -> Callable[[DataFrame], DataFrame]:
    """Data points of one metric type (``field`` of the decoder) as rows of its table."""
    time = F.col("time_unix_nano")
    # one row per data point: service_name, metric_name, ..., attributes, timestamp, values, date
    return flatten_items(
        field,
        METRIC_TABLES[field],
        lambda: {
            "service_name": service_name(F.col("resource_attributes")),
            "timestamp": nanos_to_timestamp(time),
            "date": batch_event_date(time),
        },
        ingested_at,
    )
