"""Admission control: with no batch size set, a backlog is read in batches that fit the heap."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from otellake import lake
from otellake.ingest import admission
from otellake.ingest.progress import progress_file
from otellake.settings import Settings
from tests.ingest.conftest import BackgroundIngest, ingest_now, produce, read_table
from tests.otlp_builders import request, span, span_id, trace_id


def test_records_per_batch_follow_the_budget() -> None:
    assert admission.records_per_batch(64 * 2**20, 281_053) == 238
    assert admission.records_per_batch(1000, 10**6) == 1  # always at least one record


def test_an_assumed_limit_is_resized_only_when_a_backlog_waits() -> None:
    # an empty topic at the start: 1 MB records assumed, 66 per batch
    budget = 66 * admission.UNKNOWN_RECORD_BYTES
    assumed = admission.Admission(
        admission.records_per_batch(budget, admission.UNKNOWN_RECORD_BYTES), budget,
        admission.UNKNOWN_RECORD_BYTES, 0,
    )  # fmt: skip
    assert assumed.max_records == 66
    sample = admission.SAMPLE_RECORDS_PER_PARTITION
    # a live stream, in step or just past a spike: nothing or less than two batches waits
    assert admission.resized(assumed, 80_000, sample * 10, records_waiting=0) is None
    assert admission.resized(assumed, 80_000, sample * 10, records_waiting=131) is None
    # a backlog of two batches and more: sized again by the records read
    larger = admission.resized(assumed, 80_000, sample * 10, records_waiting=132)
    assert larger is not None
    assert larger.max_records == admission.records_per_batch(budget, 80_000) == 825
    # too few records to be a sample, or nothing to gain: kept
    assert admission.resized(assumed, 80_000, sample - 1, records_waiting=1000) is None
    assert admission.resized(assumed, 2_000_000, sample * 10, records_waiting=1000) is None
    # a limit sized by sampled records is never resized
    sampled = admission.Admission(66, budget, 1_000_000, sample)
    assert admission.resized(sampled, 80_000, sample * 10, records_waiting=1000) is None


def _record(i: int) -> bytes:
    tid = trace_id()
    spans = [span(f"op-{i}-{k}", tid, span_id()) for k in range(5)]
    return request([({"service.name": "adm"}, [("s", "1", spans)])]).SerializeToString()


def test_a_backlog_is_read_in_batches_within_the_budget(
    lake_settings: Settings, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [_record(i) for i in range(12)]
    # one partition: Spark splits maxOffsetsPerTrigger across partitions with rounding (3
    # partitions gave batches of 4, 3, 3, 2), one partition takes exactly the limit
    produce(lake_settings, lake_settings.topic_spans, records, key=b"one-partition")
    mean = sum(len(r) for r in records) // len(records)
    # a heap share that fits three records of this topic's mean size
    heap = admission.heap_bytes(spark)
    monkeypatch.setattr(admission, "HEAP_SHARE", (3 * mean + mean // 2) / heap)
    lines = ingest_now(spark, lake_settings)
    assert any("at most 3 records per batch" in line for line in lines), lines
    batches = [
        json.loads(line)
        for line in progress_file(lake_settings, "ingest_traces").read_text().splitlines()
    ]
    sizes = [b["records"] for b in batches if b["records"]]
    assert sizes == [3, 3, 3, 3], sizes
    assert read_table(spark, lake_settings, "spans").count() == 60


def test_a_set_limit_overrides_admission(lake_settings: Settings, spark: Any) -> None:
    records = [_record(i) for i in range(4)]
    produce(lake_settings, lake_settings.topic_spans, records, key=b"one-partition")
    lines = ingest_now(spark, lake_settings.model_copy(update={"max_offsets_per_trigger": 2}))
    assert not any("records per batch" in line for line in lines), lines
    batches = progress_file(lake_settings, "ingest_traces").read_text().splitlines()
    sizes = [json.loads(b)["records"] for b in batches if json.loads(b)["records"]]
    assert sizes == [2, 2], sizes


def test_the_limit_follows_the_largest_record_at_either_end(lake_settings: Settings) -> None:
    # a backlog of large records behind newer small ones: the mean of the newest would admit
    # far more large records than the budget holds
    large = [request([({"service.name": "adm" * 2000}, [])]).SerializeToString()] * 10
    small = [_record(i) for i in range(25)]
    produce(lake_settings, lake_settings.topic_spans, large + small, key=b"one-partition")
    sizes = admission.sample_record_bytes(lake_settings, lake_settings.topic_spans)
    # the 20 oldest (10 large, 10 small) and the 15 newest not already read
    assert len(sizes) == 35
    assert max(sizes) == len(large[0])
    assert sorted(sizes)[-10:] == [len(large[0])] * 10


def test_a_limit_assumed_on_an_empty_topic_is_sized_again_by_the_first_records(
    lake_settings: Settings, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an empty topic: the limit assumes 1 MB records, here 3 per batch
    heap = admission.heap_bytes(spark)
    monkeypatch.setattr(admission, "HEAP_SHARE", 3.5 * admission.UNKNOWN_RECORD_BYTES / heap)
    from otellake.ingest import supervisor

    prepared: list[str] = []
    prepare = supervisor.prepare

    def counted(spark_: Any, settings_: Settings, signal: Any) -> Any:
        prepared.append(signal)
        return prepare(spark_, settings_, signal)

    monkeypatch.setattr(supervisor, "prepare", counted)
    ingest = BackgroundIngest(spark, lake_settings, trigger="1s")
    try:
        deadline = time.monotonic() + 120
        while not any("records per batch" in line for line in ingest.lines):
            assert time.monotonic() < deadline and not ingest.errors, (ingest.lines, ingest.errors)
            time.sleep(0.2)  # polling for the query's start, with a deadline
        records = [_record(i) for i in range(40)]
        produce(lake_settings, lake_settings.topic_spans, records, key=b"one-partition")
        deadline = time.monotonic() + 180
        landed = 0
        while landed < 200 and time.monotonic() < deadline and not ingest.errors:
            time.sleep(1)  # polling the lake, with a deadline
            if lake.path_exists(spark, lake.table_path(lake_settings, "spans") + "/_delta_log"):
                landed = read_table(spark, lake_settings, "spans").count()
    finally:
        ingest.stop.set()
        ingest.thread.join(timeout=300)
    assert not ingest.errors, ingest.errors
    assert any("at most 3 records per batch" in line for line in ingest.lines), ingest.lines
    budget = int(heap * admission.HEAP_SHARE)
    resized = admission.records_per_batch(budget, max(len(r) for r in records))
    restarted = [line for line in ingest.lines if "smaller than assumed" in line]
    assert len(restarted) == 1, ingest.lines
    assert f"at most {resized:,} records per batch" in restarted[0]
    # the restart resumed the stopped writer: decoder and tables were not prepared again
    assert prepared.count("traces") == 1, prepared
    spans = read_table(spark, lake_settings, "spans")
    assert spans.count() == 200
    assert spans.select("span_id").distinct().count() == 200
