"""A batch written twice (a batch replayed after a crash: same query, same batch id) adds
nothing the second time, to any table of any signal, whether the same writer or a restarted
one (which learns the table's last batch from its commit history) writes it again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from otellake import lake, schemas
from otellake.ingest.batch import BatchWriter, prepare
from otellake.ingest.progress import ProgressReporter
from otellake.settings import Settings, Signal
from tests.otlp_builders import (
    any_value,
    logs_request,
    metrics_request,
    request,
    span,
    span_id,
    trace_id,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", lake=str(tmp_path / "lake"))  # type: ignore[arg-type]


def _metrics_of_every_type() -> bytes:
    point = m.NumberDataPoint(time_unix_nano=1_700_000_000_000_000_000, as_int=1)
    metrics = [
        m.Metric(name="g", gauge=m.Gauge(data_points=[point])),
        m.Metric(name="s", sum=m.Sum(data_points=[point], is_monotonic=True)),
        m.Metric(
            name="h",
            histogram=m.Histogram(
                data_points=[
                    m.HistogramDataPoint(
                        time_unix_nano=1_700_000_000_000_000_000,
                        count=2,
                        bucket_counts=[1, 1],
                        explicit_bounds=[5.0],
                    )
                ]
            ),
        ),
        m.Metric(
            name="e",
            exponential_histogram=m.ExponentialHistogram(
                data_points=[
                    m.ExponentialHistogramDataPoint(
                        time_unix_nano=1_700_000_000_000_000_000, count=1, scale=1
                    )
                ]
            ),
        ),
        m.Metric(
            name="q",
            summary=m.Summary(
                data_points=[m.SummaryDataPoint(time_unix_nano=1_700_000_000_000_000_000, count=1)]
            ),
        ),
    ]
    return metrics_request([({"service.name": "m"}, [("s", "1", metrics)])]).SerializeToString()


def records_of(signal: Signal) -> list[bytes]:
    """One export request of the signal with items for every table it writes."""
    if signal == "traces":
        tid = trace_id()
        spans = [span(f"op{i}", tid, span_id()) for i in range(3)]
        return [request([({"service.name": "t"}, [("s", "1", spans)])]).SerializeToString()]
    if signal == "logs":
        logs = [LogRecord(time_unix_nano=1, body=any_value(f"l{i}")) for i in range(3)]
        return [logs_request([({"service.name": "l"}, [("s", "1", logs)])]).SerializeToString()]
    return [_metrics_of_every_type()]


def _counts(spark: Any, settings: Settings, tables: tuple[str, ...]) -> dict[str, int]:
    return {
        t: spark.read.format("delta").load(lake.table_path(settings, t)).count() for t in tables
    }


@pytest.mark.parametrize("signal", ["traces", "logs", "metrics"])
def test_a_replayed_batch_adds_nothing_to_any_table(
    spark: Any, settings: Settings, signal: Signal
) -> None:
    prepared = prepare(spark, settings, signal)
    tables = schemas.tables(signal=signal)
    now = datetime.now(UTC)
    # one good record and one that does not decode, so quarantine is written too
    values = [*records_of(signal), b"\x07not protobuf"]
    kafka = spark.createDataFrame(
        [("topic", 0, i, now, None, v) for i, v in enumerate(values)],
        "topic STRING, partition INT, offset BIGINT, timestamp TIMESTAMP, key BINARY, value BINARY",
    )

    def writer() -> BatchWriter:
        return BatchWriter(settings, prepared, ProgressReporter(settings, print), query_id="q")

    first = writer()
    stats = first.write(kafka, 7)
    assert stats.already_in == []
    landed = _counts(spark, settings, (*tables, "quarantine"))
    assert all(n > 0 for n in landed.values()), landed  # every table of the signal written

    again = first.write(kafka, 7)  # the same run writes batch 7 again
    restarted = writer().write(kafka, 7)  # a restart replays it
    written = {*tables, "quarantine"}
    assert set(again.already_in) == written
    assert set(restarted.already_in) == written
    assert _counts(spark, settings, (*tables, "quarantine")) == landed

    # the next batch lands (same records, new batch id: a producer retry the dedup would drop
    # for traces, but this writer is given the Kafka rows directly)
    assert writer().write(kafka, 8).already_in == []
    assert _counts(spark, settings, (*tables, "quarantine")) == {
        t: 2 * n for t, n in landed.items()
    }
