"""The supervisor's recovery path, forced: a query that fails mid-stream is restarted from its
checkpoint with a growing backoff and lands every span once; a failure that keeps coming stops
the run after ``MAX_RESTARTS``; data loss is never retried.

The failure is injected through ``supervisor.after_batch_written``: after every table of a
batch is committed and before Spark commits the batch's offsets, the moment where a crash
leaves the most to redo (the restart replays the batch, and each table skips it).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from kafka import TopicPartition

from otellake import kafka_clients, schemas
from otellake.errors import OtelLakeError
from otellake.ingest import DataLossError, IngestOptions, run_ingest, supervisor
from otellake.ingest.pipelines import PIPELINES
from otellake.settings import Settings, Signal
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.ingest.test_batch_replay import records_of
from tests.maintain.conftest import span_records
from tests.reliability.accounting import once_each, progress_lines, trace_figures


class InjectedFailure(RuntimeError):
    """The transient failure the tests inject."""


def _fail_after(batch_id: int, times: int) -> tuple[list[int], Any]:
    """A hook failing the query ``times`` times once batch ``batch_id`` is written."""
    failed: list[int] = []

    def hook(query: str, batch: int) -> None:
        if batch == batch_id and len(failed) < times:
            failed.append(batch)
            raise InjectedFailure(f"{query}: injected failure {len(failed)} after batch {batch}")

    return failed, hook


def _started_ids(lines: list[str]) -> list[str]:
    return re.findall(r"query ingest_traces started \(id ([0-9a-f-]+)\)", "\n".join(lines))


def test_a_query_failing_mid_stream_is_restarted_and_lands_every_span_once(
    lake_settings: Settings, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = lake_settings.model_copy(update={"max_offsets_per_trigger": 4})
    records, per_record = 8, 50  # two batches or more
    produce(settings, settings.topic_spans, span_records(records, per_record, time.time_ns()))
    failed, hook = _fail_after(batch_id=1, times=2)
    monkeypatch.setattr(supervisor, "after_batch_written", hook)

    lines = ingest_now(spark, settings)

    assert failed == [1, 1]
    restarts = [line for line in lines if "restarting in" in line]
    assert len(restarts) == 2, lines
    assert all(line.startswith("query ingest_traces failed: ") for line in restarts), restarts
    # the backoff doubles: 2 s, then 4 s
    assert restarts[0].endswith("; restarting in 2 s (1/8)"), restarts
    assert restarts[1].endswith("; restarting in 4 s (2/8)"), restarts
    # each restart resumed the same checkpoint (same query id: same app ids in the commits)
    ids = _started_ids(lines)
    assert len(ids) == 3 and len(set(ids)) == 1, lines
    batches = {b["batch_id"]: b for b in progress_lines(settings)}
    assert sorted(batches) == list(range(len(batches))) and len(batches) >= 2
    # batch 1 was committed to both tables before each failure: its replay appended nothing
    assert sorted(batches[1]["already_in"]) == ["spans", "trace_index"]
    assert all(b["already_in"] == [] for i, b in batches.items() if i != 1)
    assert sum(b["records"] for b in batches.values()) == records
    assert trace_figures(spark, settings) == once_each(records * per_record, records)


def test_a_failure_that_keeps_coming_stops_the_run_then_the_next_run_resumes(
    lake_settings: Settings, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = lake_settings.model_copy(update={"max_offsets_per_trigger": 3})
    records, per_record = 6, 20
    produce(settings, settings.topic_spans, span_records(records, per_record, time.time_ns()))
    failed, hook = _fail_after(batch_id=0, times=100)
    monkeypatch.setattr(supervisor, "after_batch_written", hook)
    monkeypatch.setattr(supervisor, "MAX_RESTARTS", 1)

    with pytest.raises(OtelLakeError, match=r"ingest_traces failed: .*\(after 1 restarts from"):
        ingest_now(spark, settings)
    assert failed == [0, 0]
    assert progress_lines(settings) == []  # no batch completed
    # batch 0's tables were committed (once, although written twice), its offsets were not
    first = trace_figures(spark, settings)
    in_batch_0 = first["traces"]
    assert 0 < in_batch_0 < records
    assert first == once_each(in_batch_0 * per_record, in_batch_0)

    monkeypatch.setattr(supervisor, "after_batch_written", None)
    ingest_now(spark, settings)  # a new run: new writers, which learn from the tables' history
    batches = {b["batch_id"]: b for b in progress_lines(settings)}
    assert sorted(batches[0]["already_in"]) == ["spans", "trace_index"]
    assert sum(b["records"] for b in batches.values()) == records
    assert trace_figures(spark, settings) == once_each(records * per_record, records)


@pytest.mark.parametrize("signal", ["logs", "metrics"])
def test_every_table_of_logs_and_metrics_skips_the_replayed_batch(
    lake_settings: Settings, spark: Any, monkeypatch: pytest.MonkeyPatch, signal: Signal
) -> None:
    """The same failure for the other signals: batch 0 (a record that does not decode and a
    good one) is in every table of the signal and in quarantine when the query fails; the
    restart replays it and appends it to none of them."""
    settings = lake_settings.model_copy(update={"max_offsets_per_trigger": 2})
    (good,) = records_of(signal)
    topic = PIPELINES[signal].definition.topic(settings)
    produce(settings, topic, [b"\x07not protobuf", good, good, good], key=b"one")  # in order
    failed, hook = _fail_after(batch_id=0, times=1)
    monkeypatch.setattr(supervisor, "after_batch_written", hook)

    lines = ingest_now(spark, settings, signals=(signal,))

    assert failed == [0]
    restarts = [line for line in lines if "restarting in" in line]
    assert len(restarts) == 1 and restarts[0].endswith("; restarting in 2 s (1/8)"), lines
    batches = {b["batch_id"]: b for b in progress_lines(settings, PIPELINES[signal].query_name)}
    tables = schemas.tables(signal=signal)
    assert sorted(batches[0]["already_in"]) == sorted([*tables, "quarantine"])
    assert sum(b["records"] for b in batches.values()) == 4
    once = {t: read_table(spark, settings, t).count() // 3 for t in tables}
    assert all(n > 0 for n in once.values()), once
    counts = {t: read_table(spark, settings, t).count() for t in (*tables, "quarantine")}
    # three copies of the good record (no stream dedup for these signals), the bad one once
    assert counts == {**{t: 3 * n for t, n in once.items()}, "quarantine": 1}


def test_data_loss_is_never_retried(lake_settings: Settings, spark: Any) -> None:
    topic = lake_settings.topic_spans
    produce(lake_settings, topic, span_records(3, 5, time.time_ns()))
    ingest_now(spark, lake_settings)  # the checkpoint now expects the offsets after these
    produce(lake_settings, topic, span_records(6, 5, time.time_ns()))
    partitions = [TopicPartition(topic, p) for p in range(3)]
    consumer = kafka_clients.consumer(lake_settings)
    admin = kafka_clients.admin(lake_settings)
    try:
        admin.delete_records(consumer.end_offsets(partitions))  # as retention would
    finally:
        admin.close()
        consumer.close()
    lines: list[str] = []
    with pytest.raises(DataLossError, match="--accept-data-loss"):
        options = IngestOptions(signals=("traces",), available_now=True)
        run_ingest(spark, lake_settings, options, lines.append)
    assert not [line for line in lines if "restarting in" in line], lines
    assert trace_figures(spark, lake_settings) == once_each(15, 3)
