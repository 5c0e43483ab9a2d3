"""Producer retries: the same spans delivered twice on Kafka land once, within the window
(processing time) of their first copy; with the dedup off, or beyond the window, each copy
lands. Logs and metrics are not deduplicated in the stream."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
from kafka.errors import KafkaError
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from otellake import kafka_clients
from otellake.ingest import CheckpointWithoutDedupState
from otellake.ingest.progress import progress_file
from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table, set_topic_config
from tests.otlp_builders import (
    any_value,
    logs_request,
    metrics_request,
    request,
    span,
    span_id,
    trace_id,
)
from tests.reliability.accounting import progress_lines, trace_figures

HOUR_NS = 3600 * 10**9


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


def _five_spans(start_ns: int) -> tuple[bytes, str]:
    """One export request of five spans of one new trace; the request and the trace id."""
    tid = trace_id()
    spans = [span(f"s{i}", tid, span_id(), start=start_ns + i) for i in range(5)]
    return _request(spans), tid.hex()


def test_with_the_dedup_off_every_copy_lands(lake_settings: Settings, spark: Any) -> None:
    settings = lake_settings.model_copy(update={"dedup_window": "0"})
    copy, _ = _five_spans(time.time_ns())
    produce(settings, settings.topic_spans, [copy, copy])
    lines = ingest_now(spark, settings)
    assert _duplicates_dropped(settings) == 0
    assert not any("duplicate spans dropped" in line for line in lines), lines
    figures = trace_figures(spark, settings)
    # both copies in spans and in trace_index (one batch: one index row counting 10 spans)
    assert figures == {
        "landed": 10,
        "duplicated": 5,
        "traces": 1,
        "index_mismatches": 0,
        "index_extra_rows": 0,
        "quarantined": 0,
    }


def _batch_time(line: dict[str, Any]) -> float:
    """A progress line's batch start (Spark's trigger time), epoch seconds."""
    return datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()


def _wait_until(epoch_s: float) -> None:
    """Let the wall clock pass ``epoch_s``: the dedup's window is processing time, so waiting
    it out is what the test is about, not a synchronisation."""
    time.sleep(max(0.0, epoch_s - time.time()))


def test_the_window_counts_from_the_last_batch_that_added_to_the_trace(
    lake_settings: Settings, spark: Any
) -> None:
    """Two traces, each delivered twice: one received a new span in between, so its keys were
    still in the state and the copy is dropped; the other's keys had expired, so its copy
    lands (in ``spans`` and in ``trace_index`` alike)."""
    window_s = 16
    settings = lake_settings.model_copy(update={"dedup_window": f"{window_s}s"})
    now = time.time_ns()
    kept, lapsed = trace_id(), trace_id()
    kept_first = _request([span(f"k{i}", kept, span_id(), start=now + i) for i in range(3)])
    kept_later = _request([span("k3", kept, span_id(), start=now + 3)])
    lapsed_first = _request([span(f"l{i}", lapsed, span_id(), start=now + i) for i in range(3)])

    produce(settings, settings.topic_spans, [kept_first, lapsed_first, lapsed_first])
    ingest_now(spark, settings)  # the retry within the window (same batch) is dropped
    (b1,) = progress_lines(settings)
    _wait_until(_batch_time(b1) + window_s / 2)
    produce(settings, settings.topic_spans, [kept_later])  # the kept trace receives a span
    ingest_now(spark, settings)
    _wait_until(_batch_time(b1) + window_s + 1)
    produce(settings, settings.topic_spans, [kept_first, lapsed_first])  # both again
    ingest_now(spark, settings)

    b1, b2, b3 = progress_lines(settings)
    t1, t2, t3 = (_batch_time(b) for b in (b1, b2, b3))
    assert t1 + window_s < t3 < t2 + window_s, (t1, t2, t3)  # the test's premise held
    counts = [(b["records"], b["rows"], b["duplicates"]) for b in (b1, b2, b3)]
    assert counts == [(3, 6, 3), (1, 1, 0), (2, 3, 3)]
    landed = {
        (r.trace_id, r.span_name)
        for r in read_table(spark, settings, "spans").select("trace_id", "span_name").collect()
    }
    assert len(landed) == 7
    assert trace_figures(spark, settings) == {
        "landed": 10,  # k0-k3 once; l0-l2 twice
        "duplicated": 3,
        "traces": 2,
        "index_mismatches": 0,
        "index_extra_rows": 2,  # each trace has index rows from two batches
        "quarantined": 0,
    }


def _send_at(settings: Settings, values: list[bytes], timestamp_ms: int) -> None:
    producer = kafka_clients.producer(settings, acks="all")
    try:
        futures = [
            producer.send(settings.topic_spans, value=v, timestamp_ms=timestamp_ms) for v in values
        ]
        producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=60)
    finally:
        producer.close()


def test_a_producer_clock_hours_ahead_is_deduplicated_alike(
    lake_settings: Settings, spark: Any
) -> None:
    """A producer whose clock runs ahead: its spans' times and its Kafka timestamps are in the
    future. The window is processing time, so its retries are dropped all the same. A span time
    more than a day ahead is dated by the ingest day; less than that, by its own UTC day."""
    now_ns = time.time_ns()
    hours_ns, days_ns = now_ns + 3 * HOUR_NS, now_ns + 50 * HOUR_NS
    ahead_ms = hours_ns // 10**6
    # The broker (Kafka 4) refuses Kafka timestamps more than an hour ahead by default
    # (message.timestamp.after.max.ms); this topic takes a week.
    with pytest.raises(KafkaError, match="InvalidTimestamp"):
        _send_at(lake_settings, [b"refused"], ahead_ms)
    set_topic_config(
        lake_settings, lake_settings.topic_spans, message_timestamp_after_max_ms=str(7 * 86_400_000)
    )

    hours, hours_trace = _five_spans(hours_ns)
    days, days_trace = _five_spans(days_ns)
    day_before = datetime.now(UTC).date()
    _send_at(lake_settings, [hours, days, hours], ahead_ms)
    ingest_now(spark, lake_settings)
    _send_at(lake_settings, [days, hours], ahead_ms + 1000)  # retries, in a later batch
    ingest_now(spark, lake_settings)
    day_after = datetime.now(UTC).date()

    assert [b["duplicates"] for b in progress_lines(lake_settings)] == [5, 10]
    assert trace_figures(spark, lake_settings) == {
        "landed": 10,
        "duplicated": 0,
        "traces": 2,
        "index_mismatches": 0,
        "index_extra_rows": 0,
        "quarantined": 0,
    }
    dates: dict[str, set[date]] = {}
    for row in read_table(spark, lake_settings, "spans").select("trace_id", "date").collect():
        dates.setdefault(row.trace_id, set()).add(row.date)
    assert dates[hours_trace] == {datetime.fromtimestamp(hours_ns / 1e9, UTC).date()}
    assert len(dates[days_trace]) == 1 and dates[days_trace] <= {day_before, day_after}


def test_logs_and_metrics_are_not_deduplicated_in_the_stream(
    lake_settings: Settings, spark: Any
) -> None:
    logs = logs_request(
        [({"service.name": "l"}, [("s", "1", [LogRecord(time_unix_nano=1, body=any_value("x"))])])]
    ).SerializeToString()
    point = m.NumberDataPoint(time_unix_nano=time.time_ns(), as_double=1.5)
    gauge = m.Metric(name="g", gauge=m.Gauge(data_points=[point]))
    metrics = metrics_request([({"service.name": "m"}, [("s", "1", [gauge])])]).SerializeToString()
    produce(lake_settings, lake_settings.topic_logs, [logs, logs])
    produce(lake_settings, lake_settings.topic_metrics, [metrics, metrics])
    ingest_now(spark, lake_settings, signals=("logs", "metrics"))
    assert read_table(spark, lake_settings, "logs").count() == 2
    assert read_table(spark, lake_settings, "metrics_gauge").count() == 2
