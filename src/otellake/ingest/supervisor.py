"""Run the ingest queries: one streaming query per signal (Kafka -> foreachBatch -> Delta),
supervised until they drain Kafka (available-now) or are asked to stop.

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
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from otellake import kafka_clients, lake, object_store
from otellake.durations import spark_interval
from otellake.errors import OtelLakeError
from otellake.ingest.admission import Admission, admission, resized
from otellake.ingest.batch import BatchWriter, PreparedSignal, prepare
from otellake.ingest.failures import NOT_RESTARTED, raise_failure
from otellake.ingest.pipelines import PIPELINES
from otellake.ingest.progress import ProgressReporter
from otellake.ingest.source import IngestOptions, dedup_window_seconds, kafka_source, with_dedup
from otellake.settings import Settings, Signal

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

Emit = Callable[[str], None]
STOP_GRACE_S = 300.0
MAX_RESTARTS = 8
RESTART_BACKOFF_MAX_S = 30.0

# Fault injection for the reliability tests (None otherwise): called with the query's name and
# the batch id once every table of the batch is written and before Spark commits its offsets,
# the worst moment for a crash. An exception it raises fails the query as any failure would
# (tests/reliability/test_restarts.py).
after_batch_written: Callable[[str, int], None] | None = None


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
    signal: Signal,
    options: IngestOptions,
    reporter: ProgressReporter,
    backfill: bool = False,
    name: str | None = None,
    limit: Admission | None = None,
    resumed: BatchWriter | None = None,
) -> tuple[StreamingQuery, BatchWriter]:
    """Start the signal's streaming query. A backfill gets a new query name and checkpoint
    (``backfill_<signal>_<UTC time>``), drains Kafka from the start position up to now, and
    writes with insert-only MERGEs (its new checkpoint has no memory of what landed).
    ``resumed``: the writer of the same query, stopped on purpose a moment ago (to resize its
    batches): its decoder and tables are ready and its appender knows what it committed, so the
    restart skips that work (a resize at 20k spans/s stalled the stream 4.7 s, now 1.1-1.7 s)."""
    if resumed is None:
        prepared = prepare(spark, settings, signal)
    else:
        prepared = PreparedSignal(resumed.pipeline, resumed.udf_name)
    if name is None:
        name = prepared.pipeline.query_name
        if backfill:
            name = f"backfill_{signal}_{datetime.now(UTC):%Y%m%dT%H%M%S}"
    definition = prepared.pipeline.definition
    dedup = (
        definition.stream_dedup == "span_keys"
        and dedup_window_seconds(settings) > 0
        and not backfill
    )
    writer = BatchWriter(
        settings, prepared, reporter, merge_into=spark if backfill else None, predecoded=dedup,
        appends=resumed.appends if resumed is not None else None,
    )  # fmt: skip
    topic = definition.topic(settings)
    max_records = settings.max_offsets_per_trigger
    if max_records is None:
        limit = limit or admission(spark, settings, topic)
        reporter.say(f"{name}: {limit.describe()}")
        max_records = limit.max_records
        if not limit.sampled:
            writer.assumed = limit
    source = kafka_source(spark, settings, topic, options, max_records)
    if dedup:
        source = with_dedup(source, settings)
    stream = (
        source.writeStream.queryName(name)
        .option("checkpointLocation", lake.checkpoint_path(settings, name))
        .foreachBatch(_with_fault_hook(writer, name))
    )
    if options.available_now or backfill:
        stream = stream.trigger(availableNow=True)
    else:
        stream = stream.trigger(processingTime=spark_interval(options.trigger or settings.trigger))
    query = stream.start()
    writer.started(str(query.id))
    return query, writer


def _with_fault_hook(writer: BatchWriter, name: str) -> Callable[[DataFrame, int], None]:
    """The foreachBatch function: the writer, then ``after_batch_written`` if set."""

    def write_then_hook(batch: DataFrame, batch_id: int) -> None:
        writer(batch, batch_id)
        hook = after_batch_written
        if hook is not None:
            hook(name, batch_id)

    return write_then_hook


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


def _await(query: StreamingQuery, seconds: int) -> None:
    """Wait a little; a failure is raised by :func:`raise_failure` with our own message."""
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


@dataclass
class Supervised:
    """One signal's query, its batch writer, and how often the supervisor restarted it."""

    signal: Signal
    query: StreamingQuery
    writer: BatchWriter
    restarts: int = 0


class Supervisor:
    """Starts one query per signal and keeps them running: a query that failed for a reason
    a restart can cure restarts from its checkpoint with a backoff (nothing is lost or written
    twice); data loss, a refused login and repeated failures stop the run."""

    def __init__(
        self,
        spark: SparkSession,
        settings: Settings,
        options: IngestOptions,
        reporter: ProgressReporter,
        emit: Emit,
        stop: threading.Event,
    ) -> None:
        self.spark = spark
        self.settings = settings
        self.options = options
        self.reporter = reporter
        self.emit = emit
        self.stop = stop
        self.queries: list[Supervised] = []

    def start_all(self) -> None:
        for sig in self.options.signals:
            backfill = is_backfill(self.spark, self.settings, sig, self.options)
            if backfill:
                self.emit(
                    f"{sig}: ingest_{sig} has a checkpoint, so this start position is a "
                    "backfill: new checkpoint, insert-only MERGE, up to the current offsets"
                )
            query, writer = start_query(
                self.spark, self.settings, sig, self.options, self.reporter, backfill
            )
            self.queries.append(Supervised(sig, query, writer))

    def _restart(
        self, s: Supervised, limit: Admission | None = None, resumed: BatchWriter | None = None
    ) -> None:
        """The query again from its checkpoint (same name: same checkpoint and app ids)."""
        backfill = s.query.name.startswith("backfill_")
        s.query, s.writer = start_query(
            self.spark, self.settings, s.signal, self.options, self.reporter, backfill,
            s.query.name, limit, resumed,
        )  # fmt: skip

    def _restart_if_failed(self, s: Supervised) -> None:
        q = s.query
        if q.isActive:
            return
        # A streaming query never ends by itself: one that did without an exception died in
        # a way Spark did not catch (e.g. an Error in its thread).
        died = not self.options.available_now and q.exception() is None
        if q.exception() is None and not died:
            return
        try:
            if died:
                raise OtelLakeError(f"query {q.name} stopped without an error")
            raise_failure(q, self.settings)
        except NOT_RESTARTED:
            raise
        except OtelLakeError as exc:
            if s.restarts >= MAX_RESTARTS:
                raise OtelLakeError(
                    f"{exc} (after {MAX_RESTARTS} restarts from the checkpoint)"
                ) from None
            s.restarts += 1
            delay = min(RESTART_BACKOFF_MAX_S, 2.0**s.restarts)
            self.emit(f"{exc}; restarting in {delay:.0f} s ({s.restarts}/{MAX_RESTARTS})")
            if not self.stop.wait(delay):
                self._restart(s)

    def _resize_if_assumed(self, s: Supervised) -> None:
        """The limit assumed 1 MB records (the topic was empty at the start): a backlog of the
        generator's 281 KB records is read 66 per batch where 238 fit. Once such a backlog
        waits (``admission.resized``), restarting from the checkpoint with the limit its
        records give is exactly once."""
        writer = s.writer
        if writer.assumed is None or not s.query.isActive or self.stop.is_set():
            return
        waiting = self.reporter.records_waiting(s.query.name)
        larger = resized(writer.assumed, writer.largest_record, writer.records_read, waiting)
        if larger is None:
            return
        self.emit(
            f"{s.query.name}: its records are smaller than assumed; restarting it with "
            f"{larger.describe()}"
        )
        _stop_gracefully(s.query)
        self._restart(s, larger, resumed=writer)

    def run(self) -> None:
        """Until every query drained Kafka (available-now) or ``stop`` is set."""
        while not self.stop.is_set():
            for s in self.queries:
                self._restart_if_failed(s)
                if self.stop.is_set():
                    break
            for s in self.queries:
                self._resize_if_assumed(s)
            active = [s.query for s in self.queries if s.query.isActive]
            if not active and all(s.query.exception() is None for s in self.queries):
                return  # available-now: every query drained Kafka
            if active:
                _await(active[0], 1)

    def finish(self) -> None:
        """Stop what still runs after its batch in flight, and raise what failed."""
        if self.stop.is_set():
            self.emit("stopping after the batch in flight")
            for s in self.queries:
                if s.query.isActive:
                    _stop_gracefully(s.query)
        for s in self.queries:
            try:
                raise_failure(s.query, self.settings)
            except NOT_RESTARTED:
                raise
            except OtelLakeError as exc:
                if not self.stop.is_set():
                    raise
                # Asked to stop while the supervisor waited to restart it: the checkpoint
                # resumes it at the next start; nothing was lost.
                self.emit(f"{exc}; not restarted (stopping); the next start resumes it")

    def stop_all(self) -> None:
        for s in self.queries:
            if s.query.isActive:
                s.query.stop()


def run_ingest(
    spark: SparkSession,
    settings: Settings,
    options: IngestOptions,
    emit: Emit,
    stop: threading.Event | None = None,
    logged_in: bool = False,
) -> list[dict[str, Any]]:
    """Start one query per signal and run until done (available-now) or asked to stop; the
    last progress of each query. ``logged_in``: the caller checked the Kafka login already
    (``kafka_clients.preflight``, as the CLI does before the JVM starts)."""
    object_store.check_lake_reachable(spark, settings)  # an S3 lake: fail now, naming it
    stop = stop or threading.Event()
    if not logged_in:
        # A refused login fails here, in seconds, with the broker's reason; Spark's Kafka
        # source would retry it (and the supervisor restart it) for minutes. No broker: the
        # queries wait.
        kafka_clients.preflight(settings)
    reporter = ProgressReporter(settings, emit)
    spark.streams.addListener(reporter)
    supervisor = Supervisor(spark, settings, options, reporter, emit, stop)
    try:
        with _stop_on_signals(stop):
            supervisor.start_all()
            supervisor.run()
            supervisor.finish()
        reporter.wait_until_reported(timeout_s=15)
        return [
            json.loads(s.query.lastProgress.json) if s.query.lastProgress else {}
            for s in supervisor.queries
        ]
    finally:
        supervisor.stop_all()
        spark.streams.removeListener(reporter)
