"""A backlog of generated spans drains with default settings: bounded batches, no OOM, every
span once. CI: 300k spans (two batches); `make test-long`: 10M spans (~2.8 GB on Kafka)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from otellake.benchmark.ours import HeapPeak
from otellake.generate.run import GenerateOptions, generate
from otellake.generate.simulate import Plan
from otellake.ingest.progress import progress_file
from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, read_table
from tests.reliability.conftest import SCALE, report

SPANS = 10_000_000 if SCALE >= 10 else 300_000


@pytest.mark.timeout(3600 if SCALE >= 10 else 900)
def test_a_backlog_drains_in_bounded_batches_with_default_settings(
    lake_settings: Settings, spark: Any
) -> None:
    assert lake_settings.max_offsets_per_trigger is None  # the default: admission decides
    plan = Plan(start_ns=time.time_ns() - 3600 * 10**9, duration_ns=600 * 10**9, spans=SPANS)
    produced = generate(lake_settings, GenerateOptions(plan=plan, incidents=False))
    assert produced.spans == SPANS
    started = time.monotonic()
    with HeapPeak(spark) as heap:
        lines = ingest_now(spark, lake_settings)
    seconds = time.monotonic() - started
    (limit_line,) = [line for line in lines if "records per batch" in line]
    limit = int(limit_line.split("at most ")[1].split(" records")[0])
    batches = [
        json.loads(line)
        for line in progress_file(lake_settings, "ingest_traces").read_text().splitlines()
    ]
    sizes = [b["records"] for b in batches if b["records"]]
    # Spark splits the limit across the partitions with rounding: a record or two more
    assert len(sizes) >= produced.records["traces"] // (limit + 2)
    assert max(sizes) <= limit + 2, (limit, sizes)
    assert sum(sizes) == produced.records["traces"]
    spans = read_table(spark, lake_settings, "spans")
    assert spans.count() == SPANS
    assert spans.select("trace_id", "span_id").distinct().count() == SPANS
    max_heap_mib = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory() / 2**20
    assert heap.used_mib < max_heap_mib
    report(
        "backlog",
        spans=SPANS,
        records=produced.records["traces"],
        batches=len(sizes),
        limit=limit,
        seconds=round(seconds, 1),
        spans_per_s=round(SPANS / seconds),
        peak_heap_mib=round(heap.used_mib),
        peak_live_heap_mib=round(heap.live_mib),
        max_heap_mib=round(max_heap_mib),
    )
