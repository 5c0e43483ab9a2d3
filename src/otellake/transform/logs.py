"""Decoded ``ExportLogsServiceRequest`` records -> ``logs`` rows."""

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


def logs(ingested_at: datetime) -> Callable[[DataFrame], DataFrame]:
    """One row per log record; its time is ``time_unix_nano``, or the observed time when 0."""
    effective = F.when(F.col("time_unix_nano") != 0, F.col("time_unix_nano")).otherwise(
        F.col("observed_time_unix_nano")
    )
    # one row per log record: time, ids, severity, body, service_name, attributes, date
    return flatten_items(
        "logs",
        "logs",
        lambda: {
            "timestamp": nanos_to_timestamp(effective),
            "service_name": service_name(F.col("resource_attributes")),
            "date": batch_event_date(effective),
        },
        ingested_at,
    )
