"""The input side of an ingest query: which signals, where in Kafka to start, the Kafka
stream itself and, for traces, the span-key dedup in front of the batch writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from otellake import kafka_clients
from otellake.durations import parse_duration
from otellake.errors import BadInput
from otellake.ingest.pipelines import PIPELINES
from otellake.settings import Settings, Signal
from otellake.transform.dedup import dedup_spans

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class IngestOptions:
    signals: tuple[Signal, ...] = ("traces", "logs", "metrics")
    available_now: bool = False
    trigger: str | None = None
    starting_offsets: str = "earliest"
    starting_timestamp: int | None = None
    accept_data_loss: bool = False

    @property
    def from_a_position(self) -> bool:
        """A start position was asked for (it applies to new checkpoints only)."""
        return self.starting_timestamp is not None or self.starting_offsets != "earliest"


def selected_signals(name: str) -> tuple[Signal, ...]:
    if name == "all":
        return tuple(PIPELINES)
    if name in PIPELINES:
        return (name,)
    raise BadInput(f"unknown signal {name!r}; expected one of {[*PIPELINES, 'all']}")


# A task reads only offsets that exist (the batch's range ends at the latest offset), so the
# broker never needs to hold a fetch for data to arrive. Kafka's default (500 ms) let a fetch the
# consumer had sent ahead after the last batch park at the broker: a 2k spans/s run spent
# 170-570 ms of each read task's 12-18 ms of CPU waiting, and its batches took 2.0 s, not 1.0 s.
FETCH_MAX_WAIT_MS = 10


def source_options(
    settings: Settings, topic: str, options: IngestOptions, max_records: int | None = None
) -> dict[str, str]:
    """Every option of the topic's Kafka stream; ``max_records`` per batch
    (``maxOffsetsPerTrigger``)."""
    values = {
        **kafka_clients.spark_options(settings),
        "subscribe": topic,
        # Offsets deleted by retention before we read them fail the query loudly, unless the
        # operator explicitly accepts the loss (see docs/operations.md, "Data loss").
        "failOnDataLoss": "false" if options.accept_data_loss else "true",
        "kafka.max.partition.fetch.bytes": str(max(settings.max_record_bytes, 1 << 20)),
        "kafka.fetch.max.wait.ms": str(FETCH_MAX_WAIT_MS),
    }
    if options.starting_timestamp is not None:
        # A partition with no record at or after the timestamp starts at its end (it has
        # nothing to backfill); Spark's default would fail the query instead.
        values |= {
            "startingTimestamp": str(options.starting_timestamp),
            "startingOffsetsByTimestampStrategy": "latest",
        }
    else:
        values["startingOffsets"] = options.starting_offsets
    if max_records:
        values["maxOffsetsPerTrigger"] = str(max_records)
    return values


def kafka_source(
    spark: SparkSession,
    settings: Settings,
    topic: str,
    options: IngestOptions,
    max_records: int | None = None,
) -> DataFrame:
    """The topic as a stream (options: :func:`source_options`)."""
    values = source_options(settings, topic, options, max_records)
    return spark.readStream.format("kafka").options(**values).load()


ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


def dedup_window_seconds(settings: Settings) -> int:
    """OTELLAKE_DEDUP_WINDOW in whole seconds; 0 when dedup is off."""
    if settings.dedup_window.strip() == "0":
        return 0
    return max(1, int(parse_duration(settings.dedup_window).total_seconds()))


def with_dedup(source: DataFrame, settings: Settings) -> DataFrame:
    """``source`` through the span-key dedup (``transform.dedup``), its state in RocksDB."""
    spark = source.sparkSession
    # RocksDB keeps the dedup keys off the JVM heap (a window of spans can be millions).
    spark.conf.set("spark.sql.streaming.stateStore.providerClass", ROCKSDB_PROVIDER)
    # Each batch commits a changelog of its key writes instead of a RocksDB snapshot
    # (200k spans, quick bench: 64 s -> 34 s with dedup on).
    spark.conf.set("spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled", "true")
    # The dedup's keys expire by processing time (a TTL) inside batches that have data;
    # batches without data would run forever under available-now (and cost ~0.6 s each).
    spark.conf.set("spark.sql.streaming.noDataMicroBatches.enabled", "false")
    # RocksDB would read every key before writing it, only to count the state's rows.
    spark.conf.set("spark.sql.streaming.stateStore.rocksdb.trackTotalNumberOfRows", "false")
    return source.transform(dedup_spans(dedup_window_seconds(settings), settings.max_record_bytes))
