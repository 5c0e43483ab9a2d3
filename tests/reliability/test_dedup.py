"""Producer retries: the same spans delivered twice on Kafka land once."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from otellake import kafka_clients
from otellake.ingest import CheckpointWithoutDedupState
from otellake.ingest.progress import progress_file
from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import request, span, span_id, trace_id


def _duplicates_dropped(settings: Settings) -> int:
    """Spans the dedup dropped, over every batch of the run (progress file)."""
    lines = progress_file(settings, "ingest_traces").read_text().splitlines()
    return sum(json.loads(line)["duplicates"] for line in lines)


def _request(spans: list[Any]) -> bytes:
    return request([({"service.name": "retry"}, [("s", "1", spans)])]).SerializeToString()


def test_retried_exports_land_once(lake_settings: Settings, spark: Any) -> None:
    now = time.time_ns()
    tid = trace_id()
    spans = [span(f"s{i}", tid, span_id(), start=now + i) for i in range(10)]
    odd = [
        span("zero-time", trace_id(), span_id(), start=0),
        span("far-future", trace_id(), span_id(), start=now + 400 * 86_400 * 10**9),
        span("back-dated", trace_id(), span_id(), start=now - 90 * 86_400 * 10**9),
    ]
    first = _request(spans[:6] + odd)
    rebatched = _request(spans[4:])  # an SDK retry, batched differently: s4, s5 again
    # within one batch: the Collector's retry of the same request
    produce(lake_settings, lake_settings.topic_spans, [first, first, rebatched])
    ingest_now(spark, lake_settings)
    # the dedup dropped the second copy of `first` (9 spans) and s4, s5 of `rebatched`
    assert _duplicates_dropped(lake_settings) == 11
    names = sorted(r.span_name for r in read_table(spark, lake_settings, "spans").collect())
    assert names == sorted([f"s{i}" for i in range(10)] + ["zero-time", "far-future", "back-dated"])

    # across batches (state kept in the checkpoint), and an old Kafka timestamp is not dropped
    old_ms = int(time.time() * 1000) - 3 * 3600 * 1000
    late = _request([span("late-new", trace_id(), span_id(), start=now)])
    producer = kafka_clients.producer(lake_settings, acks="all")
    try:
        producer.send(lake_settings.topic_spans, value=first)
        producer.send(lake_settings.topic_spans, value=late, timestamp_ms=old_ms)
        producer.send(lake_settings.topic_spans, value=late, timestamp_ms=old_ms)
        producer.flush(timeout=60)
    finally:
        producer.close()
    lines = ingest_now(spark, lake_settings)
    assert _duplicates_dropped(lake_settings) == 11 + 9 + 1  # `first` a third time, `late` twice
    assert any("duplicate spans dropped" in line for line in lines), lines
    spans_table = read_table(spark, lake_settings, "spans")
    assert spans_table.count() == 14, lines
    assert spans_table.where("span_name = 'late-new'").count() == 1
    index = read_table(spark, lake_settings, "trace_index").where(f"trace_id = '{tid.hex()}'")
    assert sum(r.span_count for r in index.collect()) == 10


def test_a_checkpoint_without_dedup_state_stops_with_what_to_do(
    lake_settings: Settings, spark: Any
) -> None:
    """A lake ingested before the dedup existed (or with it off) is not restarted 8 times in
    vain: the run stops at once and says how to resume it."""
    one_a = _request([span("a", trace_id(), span_id())])
    produce(lake_settings, lake_settings.topic_spans, [one_a])
    ingest_now(spark, lake_settings.model_copy(update={"dedup_window": "0"}))
    one_b = _request([span("b", trace_id(), span_id())])
    produce(lake_settings, lake_settings.topic_spans, [one_b])
    started = time.monotonic()
    with pytest.raises(CheckpointWithoutDedupState, match="OTELLAKE_DEDUP_WINDOW=0"):
        ingest_now(spark, lake_settings)
    assert time.monotonic() - started < 60  # no restarts with backoff
    ingest_now(spark, lake_settings.model_copy(update={"dedup_window": "0"}))
    assert read_table(spark, lake_settings, "spans").count() == 2
