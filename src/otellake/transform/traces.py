"""Decoded ``ExportTraceServiceRequest`` records -> ``spans`` and ``trace_index`` rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from otellake import schemas
from otellake.transform.records import event_date, nanos_to_timestamp

UNKNOWN_SERVICE = "unknown_service"


def spans(ingested_at: datetime) -> Callable[[DataFrame], DataFrame]:
    """One row per decoded span, in the ``spans`` table's columns and order."""

    def transform(decoded: DataFrame) -> DataFrame:
        s = decoded.select(F.explode("d.spans").alias("s")).select("s.*")
        start = F.col("start_time_unix_nano")
        # one row per span: trace_id, span_id, service_name, span_name, ..., date
        return s.select(
            "trace_id",
            "span_id",
            "parent_span_id",
            "trace_state",
            "flags",
            F.coalesce(
                F.nullif(F.col("resource_attributes")["service.name"], F.lit("")),
                F.lit(UNKNOWN_SERVICE),
            ).alias("service_name"),
            "span_name",
            "span_kind",
            nanos_to_timestamp(start).alias("start_time"),
            "start_time_unix_nano",
            "end_time_unix_nano",
            (F.col("end_time_unix_nano") - start).alias("duration_ns"),
            "status_code",
            "status_message",
            "resource_attributes",
            "scope_name",
            "scope_version",
            "span_attributes",
            "events",
            "links",
            "dropped_attributes_count",
            "dropped_events_count",
            "dropped_links_count",
            event_date(start, ingested_at).alias("date"),
        ).select(*schemas.table("spans").columns)

    return transform


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
