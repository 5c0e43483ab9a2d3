"""Backfill: `ingest --starting-timestamp` over a lake whose query has a checkpoint re-reads
Kafka with a new checkpoint and inserts only what the lake lacks."""

from __future__ import annotations

import time
from typing import Any

from pyspark.sql import functions as F

from otellake.fixes import DeleteRequest, delete_rows
from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.maintain.conftest import span_records


def test_backfill_restores_deleted_rows_without_duplicates(
    lake_settings: Settings, spark: Any
) -> None:
    settings = lake_settings
    started_ms = int(time.time() * 1000) - 1000
    # One key: every record on one partition, so the others hold nothing after the
    # timestamp (the backfill must start them at their end rather than fail).
    produce(settings, settings.topic_spans, span_records(10, 30, time.time_ns()), key=b"one")
    ingest_now(spark, settings)
    spans = read_table(spark, settings, "spans")
    assert spans.count() == 300
    lost = [r.trace_id for r in spans.select("trace_id").distinct().limit(3).collect()]
    for tid in lost:  # a mistake: three traces deleted from the lake
        delete_rows(spark, settings, DeleteRequest(trace_id=tid))
    assert read_table(spark, settings, "spans").count() == 210

    lines = ingest_now(spark, settings, starting_timestamp=started_ms)
    assert any("is a backfill" in line for line in lines), lines
    spans = read_table(spark, settings, "spans")
    assert spans.count() == 300
    assert spans.select("trace_id", "span_id").distinct().count() == 300
    index = (
        read_table(spark, settings, "trace_index")
        .groupBy("trace_id")
        .agg(F.sum("span_count").alias("n"))
    )
    assert sorted(r.n for r in index.collect()) == [30] * 10
    checkpoints = sorted(p.name for p in (settings.home.parent / "lake" / "_checkpoints").iterdir())
    assert checkpoints[0].startswith("backfill_traces_") and checkpoints[1] == "ingest_traces"

    # The main query carries on from where it was: nothing new, nothing twice.
    ingest_now(spark, settings)
    assert read_table(spark, settings, "spans").count() == 300
