"""How many Kafka records one streaming batch may take, when the user did not say.

A batch is decoded, kept and sorted in the executors' memory (the driver's, under
``local[N]``): a backlog read in one batch ran a 2 GiB driver out of heap at 1,000 records of
281 KB (1M spans). Kafka's source limits a batch by records only (``maxOffsetsPerTrigger``), so
the limit is a byte budget, a share of the heap, divided by the size of the largest record
sampled from both ends of each partition (the oldest, which a new query reads first, and the
newest). Not the mean: a topic whose backlog holds 281 KB records and whose newest records are
the Collector's 37 KB ones gave 1,768 records per batch by the mean of the newest, and the
first batch ran out of heap. ``OTELLAKE_MAX_OFFSETS_PER_TRIGGER`` still overrides it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otellake import kafka_clients
from otellake.errors import OtelLakeError
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# Raw Kafka bytes per batch, as a share of the heap: the decoded, kept batch takes about 10x
# its raw size, and the heap also holds Spark's and Delta's own state (1M spans = 281 MB raw
# ran 2 GiB out; 250k spans = 70 MB raw kept at most ~1.1 GiB live).
HEAP_SHARE = 1 / 32
# Assumed when the topic has no record yet: the Collector's Kafka exporter sends records of at
# most 1 MB by default (``producer.max_message_bytes``).
UNKNOWN_RECORD_BYTES = 1_000_000
SAMPLE_RECORDS_PER_PARTITION = 20
MIN_RECORDS = 1


@dataclass(frozen=True)
class Admission:
    """The limit chosen for one query, and what it was derived from (for the log line)."""

    max_records: int
    budget_bytes: int
    record_bytes: int
    sampled: int

    def describe(self) -> str:
        source = (
            f"largest of {self.sampled:,} sampled records {self.record_bytes:,} B"
            if self.sampled
            else f"no record yet, assumed {self.record_bytes:,} B"
        )
        return (
            f"at most {self.max_records:,} records per batch "
            f"({self.budget_bytes / 2**20:,.0f} MiB of the heap / {source}; "
            "OTELLAKE_MAX_OFFSETS_PER_TRIGGER overrides)"
        )


def heap_bytes(spark: SparkSession) -> int:
    """The driver JVM's maximum heap (under ``local[N]`` the executors share it)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    return int(jvm.java.lang.Runtime.getRuntime().maxMemory())


def records_per_batch(budget_bytes: int, record_bytes: int) -> int:
    """How many records of ``record_bytes`` fit the budget (at least one)."""
    return max(MIN_RECORDS, budget_bytes // max(1, record_bytes))


def sample_record_bytes(settings: Settings, topic: str, timeout_s: float = 5.0) -> list[int]:
    """Value sizes of the oldest and the newest records of each partition of ``topic`` (empty
    when the topic has none, or the broker does not answer in time: the caller assumes a size
    then)."""
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = kafka_clients.consumer(
            settings,
            enable_auto_commit=False,
            request_timeout_ms=int(timeout_s * 1000) + 1000,
            max_partition_fetch_bytes=max(settings.max_record_bytes, 1 << 20),
        )
    except (KafkaError, OSError, OtelLakeError) as exc:  # no broker yet: the query waits
        log.info("could not sample %s: %s", topic, exc)
        return []
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or set())
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return []
        ends = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        ranges: list[tuple[TopicPartition, int, int]] = []  # partition, first offset, count
        for tp in tps:
            n = min(SAMPLE_RECORDS_PER_PARTITION, ends[tp] - starts[tp])
            if n <= 0:
                continue
            ranges.append((tp, starts[tp], n))  # the oldest: a new query reads them first
            newest = max(starts[tp] + n, ends[tp] - n)  # (none read twice)
            if ends[tp] > newest:
                ranges.append((tp, newest, ends[tp] - newest))
        sizes: list[int] = []
        deadline = time.monotonic() + timeout_s
        for tp, first, count in ranges:
            sizes += _read_sizes(consumer, tp, first, count, deadline)
        return sizes
    except (KafkaError, OSError) as exc:
        log.info("could not sample %s: %s", topic, exc)
        return []
    finally:
        consumer.close()


def _read_sizes(consumer: Any, tp: Any, first: int, n: int, deadline: float) -> list[int]:
    """Value sizes of ``n`` records of one partition from offset ``first`` (fewer at the
    deadline)."""
    consumer.assign([tp])
    consumer.seek(tp, first)
    sizes: list[int] = []
    while len(sizes) < n and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            sizes += [len(r.value or b"") for r in records][: n - len(sizes)]
    return sizes


def resized(
    assumed: Admission, largest_read: int, records_read: int, records_waiting: int
) -> Admission | None:
    """For a limit that assumed the record size (its topic was empty when the query started):
    the limit the records a query has read give, by the same rule, if it is larger. None: keep
    the limit (nothing assumed, too few records read to be a sample, no backlog of
    ``BACKLOG_BATCHES`` batches waits behind the last one, or it would be no larger).

    Resizing restarts the query, which stalls every span in flight for the seconds a restart
    takes (1.1 s, and the first batch after it reloads the dedup state: 5.0 s where its
    neighbours took 2.8 s, in a 20k spans/s run). A live stream that reaches the limit in a
    spike drains it at the assumed size in a batch or two; the full bench's one restart, at such
    a spike 110 s into its sustained run, left 112k spans waiting and 8-10 s freshness for the
    next 15 s. A backlog worth several batches is what a larger limit drains faster."""
    if assumed.sampled or records_read < SAMPLE_RECORDS_PER_PARTITION:
        return None
    if records_waiting < assumed.max_records * BACKLOG_BATCHES:
        return None
    budget = assumed.budget_bytes
    seen = Admission(records_per_batch(budget, largest_read), budget, largest_read, records_read)
    return seen if seen.max_records > assumed.max_records else None


# Records waiting behind a batch, in batches of the assumed limit, that make a resize worth
# its restart.
BACKLOG_BATCHES = 2


def admission(spark: SparkSession, settings: Settings, topic: str) -> Admission:
    """The batch limit for a query reading ``topic`` (see the module docstring)."""
    budget = int(heap_bytes(spark) * HEAP_SHARE)
    sizes = sample_record_bytes(settings, topic)
    largest = max(sizes) if sizes else UNKNOWN_RECORD_BYTES
    return Admission(records_per_batch(budget, largest), budget, largest, len(sizes))
