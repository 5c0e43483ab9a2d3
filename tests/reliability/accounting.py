"""Exact accounting of a traces lake after a fault: ``spans`` and ``trace_index`` against each
other, and the batches a query's progress file recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from otellake.settings import Settings
from tests.ingest.conftest import read_table


def trace_figures(spark: Any, settings: Settings) -> dict[str, int]:
    """What the lake holds of the traces signal, each figure exact.

    ``trace_index`` holds one row per trace, date and ingest batch (append-only; readers sum
    ``span_count``). ``index_mismatches``: the (trace, date) pairs whose summed ``span_count``
    differs from the spans the lake holds for them (a batch appended twice to one of the two
    tables, or to one and not the other). ``index_extra_rows``: index rows beyond one per
    (trace, date); 0 when each trace was read in one batch, as a trace whose spans all come in
    one Kafka record is (``tests.maintain.conftest.span_records``).
    """
    from pyspark.sql import functions as F

    spans = read_table(spark, settings, "spans")
    index = read_table(spark, settings, "trace_index")
    landed = spans.count()
    per_key = spans.groupBy("trace_id", "date").agg(F.count(F.lit(1)).alias("spans"))
    indexed = index.groupBy("trace_id", "date").agg(F.sum("span_count").alias("indexed"))
    mismatches = (
        per_key.join(indexed, ["trace_id", "date"], "full_outer")
        .where(F.coalesce("spans", F.lit(0)) != F.coalesce("indexed", F.lit(0)))
        .count()
    )
    quarantine = Path(settings.lake) / "quarantine" / "_delta_log"
    return {
        "landed": landed,
        "duplicated": landed - spans.select("trace_id", "span_id").distinct().count(),
        "traces": spans.select("trace_id").distinct().count(),
        "index_mismatches": mismatches,
        "index_extra_rows": index.count() - indexed.count(),
        "quarantined": (
            read_table(spark, settings, "quarantine").count() if quarantine.is_dir() else 0
        ),
    }


def once_each(spans: int, traces: int) -> dict[str, int]:
    """``trace_figures`` of a lake holding ``spans`` spans of ``traces`` traces, each trace from
    one Kafka record: every span once, the index agreeing with the spans, nothing quarantined."""
    return {
        "landed": spans,
        "duplicated": 0,
        "traces": traces,
        "index_mismatches": 0,
        "index_extra_rows": 0,
        "quarantined": 0,
    }


def progress_lines(settings: Settings, query: str = "ingest_traces") -> list[dict[str, Any]]:
    """Every batch the query's progress file recorded (a batch that failed has no line)."""
    path = settings.home / "progress" / f"{query}.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
