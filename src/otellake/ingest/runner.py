"""Run the ingest queries: Kafka source -> foreachBatch (decode, write each table) -> Delta.

Exactly once with several outputs: every table's append carries the app id and the batch id
in its commit, and a batch a table holds already is not appended again (``appends``). The app
id is derived from the query name, the table and the streaming query's id, which Spark keeps
in the checkpoint: a restart reuses it (so a replayed batch is skipped), a new checkpoint gets
a new one (so its batch ids start afresh).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from otellake import jvm_decoders, kafka_clients, lake, object_store
from otellake.durations import parse_duration, spark_interval
from otellake.errors import BadInput, OtelLakeError
from otellake.ingest.admission import Admission, admission, resized
from otellake.ingest.appends import ExactlyOnceAppender
from otellake.ingest.pipelines import PIPELINES, SignalPipeline
from otellake.ingest.progress import BatchStats, ProgressReporter
from otellake.settings import Settings, Signal
from otellake.transform import traces
from otellake.transform.dedup import dedup_spans, records_from_units
from otellake.transform.records import decode_records, quarantine_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

Emit = Callable[[str], None]
STOP_GRACE_S = 300.0
MAX_RESTARTS = 8
RESTART_BACKOFF_MAX_S = 30.0


class DataLossError(OtelLakeError):
    """Kafka no longer has offsets the checkpoint expects (retention deleted them)."""


class CheckpointWithoutDedupState(OtelLakeError):
    """The query's checkpoint was written without the dedup operator (OTELLAKE_DEDUP_WINDOW=0,
    or a version before dedup); Spark cannot add a stateful operator to it, so a restart
    would fail the same way."""


class CheckpointFromOlderDedup(OtelLakeError):
    """The query's checkpoint holds the dedup state of an earlier version (Spark's
    ``dropDuplicatesWithinWatermark``); this version keys the dedup with ``transformWithState``
    and Spark cannot resume one operator's state with the other."""


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


def kafka_source(
    spark: SparkSession,
    settings: Settings,
    topic: str,
    options: IngestOptions,
    max_records: int | None = None,
) -> DataFrame:
    """The topic as a stream; ``max_records`` per batch (``maxOffsetsPerTrigger``)."""
    reader = (
        spark.readStream.format("kafka")
        .options(**kafka_clients.spark_options(settings))
        .option("subscribe", topic)
        # Offsets deleted by retention before we read them fail the query loudly, unless the
        # operator explicitly accepts the loss (see docs/operations.md, "Data loss").
        .option("failOnDataLoss", "false" if options.accept_data_loss else "true")
        .option("kafka.max.partition.fetch.bytes", str(max(settings.max_record_bytes, 1 << 20)))
    )
    if options.starting_timestamp is not None:
        # A partition with no record at or after the timestamp starts at its end (it has
        # nothing to backfill); Spark's default would fail the query instead.
        reader = reader.option("startingTimestamp", str(options.starting_timestamp)).option(
            "startingOffsetsByTimestampStrategy", "latest"
        )
    else:
        reader = reader.option("startingOffsets", options.starting_offsets)
    if max_records:
        reader = reader.option("maxOffsetsPerTrigger", str(max_records))
    return reader.load()


def release_local_checkpoint(df: DataFrame) -> None:
    """Free the blocks of a DataFrame made by ``localCheckpoint``. ``unpersist()`` does not:
    they stay until the JVM's cleaner finds the RDD unreachable, and over a 10M-span backlog
    (~40 batches) they ran the 2 GiB driver out of heap."""
    plan = df._jdf.queryExecution().analyzed()
    if plan.getClass().getSimpleName() == "LogicalRDD":
        plan.rdd().unpersist(False)


class BatchWriter:
    """The foreachBatch function of one signal's query."""

    def __init__(
        self,
        settings: Settings,
        pipeline: SignalPipeline,
        udf_name: str,
        reporter: ProgressReporter,
        merge_into: SparkSession | None = None,
        predecoded: bool = False,
    ) -> None:
        """``merge_into``: write with insert-only MERGEs on each table's dedup key through this
        session (backfill and replay), instead of exactly-once appends."""
        self.settings = settings
        self.pipeline = pipeline
        self.udf_name = udf_name
        self.reporter = reporter
        self.spark = merge_into
        self.merge = merge_into is not None
        # the stream decoded (and deduplicated) already: batches are units (transform.dedup)
        self.predecoded = predecoded
        self.query_id: str | None = None
        self._started = threading.Event()
        # set when the batch limit was sized by an assumed record size (an empty topic): the
        # first records read size it again (``admission.resized``)
        self.assumed: Admission | None = None
        self.largest_record = 0
        self.records_read = 0
        self.appends = ExactlyOnceAppender()

    def started(self, query_id: str) -> None:
        self.query_id = query_id
        self._started.set()

    def app_id(self, table: str) -> str:
        return f"otellake/{self.pipeline.query_name}/{table}/{self.query_id}"

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        if not self._started.wait(timeout=60):
            raise OtelLakeError("the streaming query did not report its id within 60 s")
        self.write(batch, batch_id)

    def write(self, batch: DataFrame, batch_id: int) -> BatchStats:
        """Decode one batch of Kafka rows and write every table (append, or merge)."""
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        settings = self.settings
        stats = BatchStats(self.pipeline.query_name, batch_id)
        ingested_at = datetime.now(UTC).replace(microsecond=0)
        t0 = time.monotonic()
        units = None
        if self.predecoded:
            # the dedup's output is read twice (records, surviving spans): computed once
            units = batch.localCheckpoint(eager=True)
            stats.seconds["dedup"] = round(time.monotonic() - t0, 3)
            decoded = records_from_units(units, settings.max_record_bytes)
        else:
            decoded = batch.transform(decode_records(self.udf_name, settings.max_record_bytes))
        decoded = decoded.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            per_output = {
                o.table: F.coalesce(F.sum(o.items()), F.lit(0)).alias(f"n_{o.table}")
                for o in self.pipeline.outputs
            }
            counts = decoded.agg(
                F.count(F.lit(1)).alias("records"),
                *per_output.values(),
                F.coalesce(
                    F.sum(
                        F.when(F.col("value_size") > settings.max_record_bytes, 1)
                        .when(F.col("d.error_reason").isNotNull(), 1)
                        .otherwise(F.size("d.rejects"))
                    ),
                    F.lit(0),
                ).alias("quarantined"),
                F.coalesce(F.sum("d.truncated_values"), F.lit(0)).alias("truncated"),
                F.coalesce(F.sum("d.repaired_utf8"), F.lit(0)).alias("repaired"),
                F.min(F.to_date("timestamp")).alias("first_day"),
                F.sum("duplicates" if self.predecoded else F.lit(0)).alias("duplicates"),
                F.max("value_size").alias("largest"),
            ).first()
            assert counts is not None
            stats.records = int(counts.records)
            self.largest_record = max(self.largest_record, int(counts.largest or 0))
            self.records_read += stats.records
            stats.rows = sum(
                int(counts[f"n_{o.table}"]) for o in self.pipeline.outputs if o.primary
            )
            stats.quarantined = int(counts.quarantined)
            stats.truncated_values = int(counts.truncated)
            stats.repaired_utf8 = int(counts.repaired)
            stats.duplicates = int(counts.duplicates or 0)
            stats.seconds["read_decode"] = round(time.monotonic() - t0, 3)
            # Merge mode: a duplicate can only sit in partitions from the day before the
            # earliest record of the batch (zero-time items are dated by their ingest day).
            first_day = counts.first_day
            outputs = [
                (o.table, o.rows(decoded, ingested_at))
                for o in self.pipeline.outputs
                if int(counts[f"n_{o.table}"]) > 0
            ]
            if stats.quarantined:
                bad = decoded.transform(
                    quarantine_rows(
                        ingested_at, settings.max_record_bytes, settings.max_value_bytes
                    )
                )
                outputs.append(("quarantine", bad))
            self._write_all(outputs, batch_id, first_day, stats)
        finally:
            decoded.unpersist()
            if units is not None:
                release_local_checkpoint(units)
        stats.seconds["batch"] = round(time.monotonic() - t0, 3)
        self.reporter.record(stats)
        return stats

    def _write_all(
        self,
        outputs: list[tuple[str, DataFrame]],
        batch_id: int,
        first_day: date | None,
        stats: BatchStats,
    ) -> None:
        """Write every output of the batch. Appends run at once, one thread per table: each is
        its own Delta transaction, and a commit's latency (the table's snapshot, the commit
        itself, its checksum and checkpoints) is mostly waiting, so they overlap (a batch of
        10k spans: spans and trace_index one after the other took 1.3 s + 1.1 s)."""

        from pyspark import inheritable_thread_target

        def write(table: str, rows: DataFrame) -> None:
            t = time.monotonic()
            self._write(table, rows, batch_id, first_day, stats)
            stats.seconds[f"write_{table}"] = round(time.monotonic() - t, 3)

        if self.merge or len(outputs) < 2:  # merge: trace_index is derived while spans merge
            for table, rows in outputs:
                write(table, rows)
            return
        # (each thread takes this one's Spark job group, so stopping the query still cancels
        # its jobs)
        in_batch = inheritable_thread_target(outputs[0][1].sparkSession)(write)
        with ThreadPoolExecutor(max_workers=len(outputs), thread_name_prefix="write") as pool:
            futures = [pool.submit(in_batch, table, rows) for table, rows in outputs]
            for future in futures:
                future.result()

    def _write(
        self, table: str, rows: DataFrame, batch_id: int, first_day: date | None, stats: BatchStats
    ) -> None:
        path = lake.table_path(self.settings, table)
        if not self.merge:
            if not self.appends.append(rows, path, self.app_id(table), batch_id).appended:
                stats.already_in.append(table)
            return
        prune_from = first_day - timedelta(days=1) if first_day else None
        if table == "trace_index":
            return  # written with spans, below
        assert self.spark is not None
        if table == "spans":
            # trace_index summarises the spans this batch adds (readers sum span_count per
            # trace), so it is derived from the spans not in the lake yet, before the merge.
            fresh = lake.rows_not_in_table(self.spark, rows, path, "spans", prune_from)
            # (a checkpoint, not a cache: the merge refreshes cached plans that read spans)
            index = traces.trace_index(fresh).localCheckpoint(eager=True)
            try:
                inserted = lake.merge_insert_only(self.spark, rows, path, table, prune_from)
                index_path = lake.table_path(self.settings, "trace_index")
                app_id = self.app_id("trace_index")
                if not self.appends.append(index, index_path, app_id, batch_id).appended:
                    stats.already_in.append("trace_index")
            finally:
                release_local_checkpoint(index)
        else:
            inserted = lake.merge_insert_only(self.spark, rows, path, table, prune_from)
        stats.inserted[table] = inserted


ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


def dedup_window_seconds(settings: Settings) -> int:
    """OTELLAKE_DEDUP_WINDOW in whole seconds; 0 when dedup is off."""
    if settings.dedup_window.strip() == "0":
        return 0
    return max(1, int(parse_duration(settings.dedup_window).total_seconds()))


def is_backfill(
    spark: SparkSession, settings: Settings, signal: Signal, options: IngestOptions
) -> bool:
    """A start position for a signal whose main query already has a checkpoint: the run is a
    backfill, into the same tables, with its own new checkpoint."""
    query = PIPELINES[signal].query_name
    return options.from_a_position and lake.path_exists(
        spark, f"{lake.checkpoint_path(settings, query)}/offsets"
    )


def start_query(
    spark: SparkSession,
    settings: Settings,
    pipeline: SignalPipeline,
    options: IngestOptions,
    reporter: ProgressReporter,
    backfill: bool = False,
    name: str | None = None,
    limit: Admission | None = None,
) -> tuple[StreamingQuery, BatchWriter]:
    """Start the signal's streaming query. A backfill gets a new query name and checkpoint
    (``backfill_<signal>_<UTC time>``), drains Kafka from the start position up to now, and
    writes with insert-only MERGEs (its new checkpoint has no memory of what landed)."""
    udf_name = jvm_decoders.register(spark, settings, pipeline.signal)
    for table in (*pipeline.tables, "quarantine"):
        lake.ensure_table(spark, settings, table)
    if name is None:
        name = pipeline.query_name
        if backfill:
            name = f"backfill_{pipeline.signal}_{datetime.now(UTC):%Y%m%dT%H%M%S}"
    window = dedup_window_seconds(settings)
    dedup = pipeline.signal == "traces" and window > 0 and not backfill
    writer = BatchWriter(
        settings,
        pipeline,
        udf_name,
        reporter,
        merge_into=spark if backfill else None,
        predecoded=dedup,
    )
    topic = settings.topics[pipeline.signal]
    max_records = settings.max_offsets_per_trigger
    if max_records is None:
        limit = limit or admission(spark, settings, topic)
        reporter.say(f"{name}: {limit.describe()}")
        max_records = limit.max_records
        if not limit.sampled:
            writer.assumed = limit
    source = kafka_source(spark, settings, topic, options, max_records)
    if dedup:
        # RocksDB keeps the dedup keys off the JVM heap (a window of spans can be millions).
        spark.conf.set("spark.sql.streaming.stateStore.providerClass", ROCKSDB_PROVIDER)
        # Each batch commits a changelog of its key writes instead of a RocksDB snapshot
        # (200k spans, quick bench: 64 s -> 34 s with dedup on).
        spark.conf.set(
            "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled", "true"
        )
        # The dedup's keys expire by processing time (a TTL) inside batches that have data;
        # batches without data would run forever under available-now (and cost ~0.6 s each).
        spark.conf.set("spark.sql.streaming.noDataMicroBatches.enabled", "false")
        # RocksDB would read every key before writing it, only to count the state's rows.
        spark.conf.set("spark.sql.streaming.stateStore.rocksdb.trackTotalNumberOfRows", "false")
        source = source.transform(dedup_spans(window, settings.max_record_bytes))
    stream = (
        source.writeStream.queryName(name)
        .option("checkpointLocation", lake.checkpoint_path(settings, name))
        .foreachBatch(writer)
    )
    if options.available_now or backfill:
        stream = stream.trigger(availableNow=True)
    else:
        stream = stream.trigger(processingTime=spark_interval(options.trigger or settings.trigger))
    query = stream.start()
    writer.started(str(query.id))
    return query, writer


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT ask the queries to stop after the batch in flight."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# Failures a restart from the checkpoint would only repeat: the run stops with them.
NOT_RESTARTED = (
    DataLossError,
    CheckpointWithoutDedupState,
    CheckpointFromOlderDedup,
    kafka_clients.KafkaAuthError,
)


def _older_dedup_message(query: StreamingQuery, settings: Settings) -> str:
    from pyspark.sql import SparkSession

    checkpoint = lake.checkpoint_path(settings, str(query.name))
    offsets = lake.committed_offsets(SparkSession.builder.getOrCreate(), checkpoint)
    resume = (
        f"otellake ingest --signal traces --starting-offsets '{offsets}'"
        if offsets
        else "otellake ingest --signal traces"
    )
    return (
        f"query {query.name}: its checkpoint {checkpoint} holds the dedup state of an earlier "
        "otel-lake version (Spark's dropDuplicatesWithinWatermark), which this version's "
        "dedup cannot resume. Move the checkpoint aside and continue from the offsets it "
        f"committed: mv {checkpoint} {checkpoint}.before-key-dedup && {resume} "
        "(nothing is read twice; a retry delivered across the move may land twice)"
    )


def _raise_failure(query: StreamingQuery, settings: Settings) -> None:
    exc = query.exception()
    if exc is None:
        return
    text = str(exc)
    if "AuthenticationException" in text:
        # Retrying a refused login from the checkpoint would only repeat it.
        reason = text.partition("AuthenticationException: ")[2].splitlines()[0:1]
        raise kafka_clients.auth_error(settings, reason[0] if reason else text.splitlines()[0])
    if "STREAMING_STATEFUL_OPERATOR_MISSING_STATE_DIRECTORY" in text:
        raise CheckpointWithoutDedupState(
            f"query {query.name}: its checkpoint "
            f"{lake.checkpoint_path(settings, str(query.name))} has no dedup state: it was "
            "written with OTELLAKE_DEDUP_WINDOW=0 or by a version before the dedup existed, "
            "and Spark cannot add the dedup to it. Run this checkpoint with "
            "OTELLAKE_DEDUP_WINDOW=0 (it still resumes exactly once), or start a new lake"
        )
    if "STREAMING_STATEFUL_OPERATOR_NOT_MATCH_IN_STATE_METADATA" in text and (
        "dedupeWithinWatermark" in text
    ):
        raise CheckpointFromOlderDedup(_older_dedup_message(query, settings))
    if "data loss" in text.lower() or ("lost" in text.lower() and "offset" in text.lower()):
        raise DataLossError(
            f"query {query.name}: Kafka no longer has offsets the checkpoint expects (retention "
            f"deleted them before ingest read them). Nothing was skipped silently. To continue "
            f"from the earliest offset still available, rerun with --accept-data-loss. "
            f"Spark said: {text.splitlines()[0]}"
        )
    raise OtelLakeError(f"query {query.name} failed: {text.splitlines()[0]}")


def _await(query: StreamingQuery, seconds: int) -> None:
    """Wait a little; a failure is raised by :func:`_raise_failure` with our own message."""
    from pyspark.errors import StreamingQueryException

    with contextlib.suppress(StreamingQueryException):
        query.awaitTermination(seconds)


def _last_batch_id(query: StreamingQuery) -> int:
    progress = query.lastProgress
    return progress.batchId if progress is not None else -1


def _stop_gracefully(query: StreamingQuery) -> None:
    """Let the batch in flight finish, then stop (a batch interrupted after that is simply
    replayed on restart: every output is exactly-once)."""
    last = _last_batch_id(query)
    deadline = time.monotonic() + STOP_GRACE_S
    while (
        query.isActive
        and query.status.get("isTriggerActive")
        and _last_batch_id(query) == last
        and time.monotonic() < deadline
    ):
        _await(query, 1)
    query.stop()


def run_ingest(
    spark: SparkSession,
    settings: Settings,
    options: IngestOptions,
    emit: Emit,
    stop: threading.Event | None = None,
) -> list[dict[str, Any]]:
    """Start one query per signal and run until done (available-now) or asked to stop."""
    object_store.check_lake_reachable(spark, settings)  # an S3 lake: fail now, naming it
    stop = stop or threading.Event()
    # A refused login fails here, in seconds, with the broker's reason; Spark's Kafka source
    # would retry it (and the supervisor restart it) for minutes. No broker: the queries wait.
    kafka_clients.preflight(settings)
    reporter = ProgressReporter(settings, emit)
    spark.streams.addListener(reporter)
    queries: list[StreamingQuery] = []
    writers: list[BatchWriter] = []
    restarts: list[int] = []

    def restart(
        i: int, q: StreamingQuery, limit: Admission | None = None
    ) -> tuple[StreamingQuery, BatchWriter]:
        """The query again from its checkpoint (same name: same checkpoint and app ids)."""
        backfill = q.name.startswith("backfill_")
        pipeline = PIPELINES[options.signals[i]]
        return start_query(spark, settings, pipeline, options, reporter, backfill, q.name, limit)

    try:
        with _stop_on_signals(stop):
            for sig in options.signals:
                backfill = is_backfill(spark, settings, sig, options)
                if backfill:
                    emit(
                        f"{sig}: ingest_{sig} has a checkpoint, so this start position is a "
                        "backfill: new checkpoint, insert-only MERGE, up to the current offsets"
                    )
                query, writer = start_query(
                    spark, settings, PIPELINES[sig], options, reporter, backfill
                )
                queries.append(query)
                writers.append(writer)
                restarts.append(0)
            while not stop.is_set():
                for i, q in enumerate(queries):
                    if q.isActive:
                        continue
                    # A streaming query never ends by itself: one that did without an
                    # exception died in a way Spark did not catch (e.g. an Error in its thread).
                    died = not options.available_now and q.exception() is None
                    if q.exception() is None and not died:
                        continue
                    # Supervision: a failed query (broker gone too long, a task lost) restarts
                    # from its checkpoint, so nothing is lost or written twice. Data loss and
                    # repeated failures stop the run.
                    try:
                        if died:
                            raise OtelLakeError(f"query {q.name} stopped without an error")
                        _raise_failure(q, settings)
                    except NOT_RESTARTED:
                        raise
                    except OtelLakeError as exc:
                        if restarts[i] >= MAX_RESTARTS:
                            raise OtelLakeError(
                                f"{exc} (after {MAX_RESTARTS} restarts from the checkpoint)"
                            ) from None
                        restarts[i] += 1
                        delay = min(RESTART_BACKOFF_MAX_S, 2.0 ** restarts[i])
                        emit(f"{exc}; restarting in {delay:.0f} s ({restarts[i]}/{MAX_RESTARTS})")
                        if stop.wait(delay):
                            break
                        queries[i], writers[i] = restart(i, q)
                for i, q in enumerate(queries):
                    writer = writers[i]
                    larger = (
                        resized(writer.assumed, writer.largest_record, writer.records_read)
                        if writer.assumed is not None and q.isActive
                        else None
                    )
                    if larger is None or stop.is_set():
                        continue
                    # The limit assumed 1 MB records (the topic was empty at the start): a
                    # stream of the generator's 281 KB records got 66 per batch and fell behind
                    # at 20k spans/s. Restarting from the checkpoint is exactly once.
                    emit(
                        f"{q.name}: its records are smaller than assumed; restarting it with "
                        f"{larger.describe()}"
                    )
                    _stop_gracefully(q)
                    queries[i], writers[i] = restart(i, q, larger)
                active = [q for q in queries if q.isActive]
                if not active and all(q.exception() is None for q in queries):
                    break  # available-now: every query drained Kafka
                if active:
                    _await(active[0], 1)
            if stop.is_set():
                emit("stopping after the batch in flight")
                for q in queries:
                    if q.isActive:
                        _stop_gracefully(q)
            for q in queries:
                try:
                    _raise_failure(q, settings)
                except NOT_RESTARTED:
                    raise
                except OtelLakeError as exc:
                    if not stop.is_set():
                        raise
                    # Asked to stop while the supervisor waited to restart it: the checkpoint
                    # resumes it at the next start; nothing was lost.
                    emit(f"{exc}; not restarted (stopping); the next start resumes it")
        reporter.wait_until_reported(timeout_s=15)
        return [json.loads(q.lastProgress.json) if q.lastProgress else {} for q in queries]
    finally:
        for q in queries:
            if q.isActive:
                q.stop()
        spark.streams.removeListener(reporter)
