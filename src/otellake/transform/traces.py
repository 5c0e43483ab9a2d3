"""Decoded ``ExportTraceServiceRequest`` records -> ``spans`` and ``trace_index`` rows."""

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


def spans(ingested_at: datetime) -> Callable[[DataFrame], DataFrame]:
    """One row per decoded span, in the ``spans`` table's columns and order."""
    start = F.col("start_time_unix_nano")
    # one row per span: trace_id, span_id, service_name, span_name, ..., date
    return flatten_items(
        "spans",
        "spans",
        lambda: {
            "service_name": service_name(F.col("resource_attributes")),
            "start_time": nanos_to_timestamp(start),
            "duration_ns": F.col("end_time_unix_nano") - start,
            "date": batch_event_date(start),
        },
        ingested_at,
    )


def trace_index(spans_df: DataFrame) -> DataFrame:
    """One row per (trace, date) in this batch: time range, span count and the root span.

    Append-only across batches; readers aggregate by trace_id.
    """
    # The root is the earliest span without a parent (ties: smallest span_id); min_by skips
    # rows whose ordering value is NULL, i.e. the non-roots.
    root_order = F.when(F.col("parent_span_id") == "", F.struct("start_time_unix_nano", "span_id"))
    root = F.min_by(F.struct("service_name", "span_name"), root_order)
    return (
        spans_df.groupBy("trace_id", "date")
        .agg(
            F.min("start_time_unix_nano").alias("start_time_unix_nano_min"),
            F.max("end_time_unix_nano").alias("end_time_unix_nano_max"),
            F.count(F.lit(1)).alias("span_count"),
            F.coalesce(root["service_name"], F.lit("")).alias("root_service_name"),
            F.coalesce(root["span_name"], F.lit("")).alias("root_span_name"),
        )
        .select(*schemas.table("trace_index").columns)
    )


def sorted_for_write(spans_df: DataFrame) -> DataFrame:
    """Within each task: by date (the partition), then service and start time, no shuffle."""
    return spans_df.sortWithinPartitions("date", "service_name", "start_time")
