"""Our ingest path, measured: generated spans on Kafka -> `ingest --available-now` -> `spans`.

Per core = spans / wall seconds / cores used (Spark local[N] on this machine, the broker on the
same cores). The JVM start is measured apart. Peak heap is sampled during the run (see
``HeapPeak``).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otellake import lake
from otellake.generate.run import GenerateOptions, GenerateResult, generate
from otellake.generate.simulate import Plan
from otellake.ingest import IngestOptions, run_ingest
from otellake.settings import Encoding, Settings, Signal
from otellake.stack.kafka_broker import data_dir

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

BENCH_START_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z: a fixed, reproducible day
SPANS_PER_S_SIMULATED = 20_000


def options(spans: int, encoding: Encoding = "otlp_proto", seed: int = 42) -> GenerateOptions:
    """The benchmark's seeded run: the same spans whichever path reads them."""
    plan = Plan(BENCH_START_NS, spans * 10**9 // SPANS_PER_S_SIMULATED, spans)
    return GenerateOptions(plan, mode="kafka", encoding=encoding, seed=seed)


# The spans run makes few metric points (one report per instance every 10 s of simulated time:
# 1,494 points per 2M spans), so the points are measured on a run of their own: a day of
# simulated time at a low request rate gives about as many points as the spans run has spans.
POINTS_RUN_HOURS = 25


def metrics_options(spans: int, seed: int = 43) -> GenerateOptions:
    """The benchmark's metrics-heavy run: ``POINTS_RUN_HOURS`` of simulated time."""
    plan = Plan(BENCH_START_NS, POINTS_RUN_HOURS * 3600 * 10**9, spans)
    return GenerateOptions(plan, mode="kafka", seed=seed, incidents=False)


def produce(settings: Settings, run: GenerateOptions) -> GenerateResult:
    """The spans (and their logs and metrics) as whole export requests on Kafka."""
    return generate(settings, run)


def topic_disk_bytes(settings: Settings, topic: str) -> int:
    """Bytes of the topic's log segments on the broker's disk (compressed batches)."""
    total = 0
    for part in Path(data_dir(settings)).glob(f"{topic}-*"):
        total += sum(f.stat().st_size for f in part.glob("*.log"))
    return total


def table_bytes_per_row(settings: Settings, table: str) -> tuple[int, int, int]:
    """(data files, bytes, rows) of the table's current snapshot."""
    import pyarrow as pa
    from deltalake import DeltaTable

    actions = DeltaTable(lake.table_path(settings, table)).get_add_actions(flatten=True)
    columns = pa.table(actions).select(["path", "size_bytes", "num_records"]).to_pydict()
    return len(columns["path"]), sum(columns["size_bytes"]), sum(columns["num_records"])


class HeapPeak:
    """Peak JVM heap of the driver over a block (``local`` mode: driver = executors).

    A thread samples the heap every ``interval_s``: ``used_mib`` is the most heap in use seen
    (at most ``-Xmx``), ``live_mib`` the most the heap held right after a garbage collection
    (what the work keeps alive). Summing the pools' own peaks, as before, counted
    3,200 MiB under a 2 GiB heap: the pools peak at different moments.
    """

    def __init__(self, spark: SparkSession, interval_s: float = 0.25) -> None:
        jvm: Any = spark.sparkContext._jvm
        management = jvm.java.lang.management.ManagementFactory
        self.memory = management.getMemoryMXBean()
        self.pools = [p for p in management.getMemoryPoolMXBeans() if p.getType().name() == "HEAP"]
        self.interval_s = interval_s
        self.used_mib = 0.0
        self.live_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="heap-sampler", daemon=True)

    def _sample(self) -> None:
        while True:
            used = self.memory.getHeapMemoryUsage().getUsed() / 2**20
            after_gc = [p.getCollectionUsage() for p in self.pools]
            live = sum(u.getUsed() for u in after_gc if u is not None) / 2**20
            self.used_mib, self.live_mib = max(self.used_mib, used), max(self.live_mib, live)
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> HeapPeak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class IngestFigures:
    spans: int
    seconds: float
    cores: int
    peak_heap_mib: float
    peak_live_heap_mib: float
    files: int
    disk_bytes: int
    kafka_record_bytes: int
    kafka_disk_bytes: int
    batches: list[dict[str, Any]]

    @property
    def spans_per_s(self) -> float:
        return self.spans / self.seconds

    @property
    def per_core(self) -> float:
        return self.spans_per_s / self.cores


def ingest(
    spark: SparkSession, settings: Settings, produced: GenerateResult, emit: Any
) -> IngestFigures:
    with HeapPeak(spark) as heap:
        started = time.monotonic()
        run_ingest(spark, settings, IngestOptions(signals=("traces",), available_now=True), emit)
        seconds = time.monotonic() - started
    files, disk, rows = table_bytes_per_row(settings, "spans")
    if rows != produced.spans:
        raise RuntimeError(f"ingest wrote {rows} spans of {produced.spans} produced")
    cores = _local_cores(spark)
    return IngestFigures(
        spans=rows,
        seconds=seconds,
        cores=cores,
        peak_heap_mib=heap.used_mib,
        peak_live_heap_mib=heap.live_mib,
        files=files,
        disk_bytes=disk,
        kafka_record_bytes=produced.bytes.get("traces", 0),
        kafka_disk_bytes=topic_disk_bytes(settings, settings.topic_spans),
        batches=stage_seconds(settings, "ingest_traces"),
    )


@dataclass
class SignalFigures:
    """Rows of one signal's tables and the wall seconds of its ingest (available-now)."""

    rows: int
    seconds: float
    cores: int

    @property
    def per_core(self) -> float:
        return self.rows / self.seconds / self.cores


def ingest_signal(spark: SparkSession, settings: Settings, signal: Signal) -> SignalFigures:
    """Ingest one signal's topic into ``settings.lake``; rows are counted in its tables."""
    from otellake.ingest.pipelines import PIPELINES

    started = time.monotonic()
    run_ingest(spark, settings, IngestOptions(signals=(signal,), available_now=True), _quiet)
    seconds = time.monotonic() - started
    tables = [o.table for o in PIPELINES[signal].outputs if o.primary]
    rows = sum(
        spark.read.format("delta").load(lake.table_path(settings, table)).count()
        for table in tables
    )
    return SignalFigures(rows, seconds, _local_cores(spark))


def _quiet(_message: str) -> None:
    pass


def stage_seconds(settings: Settings, query: str) -> list[dict[str, Any]]:
    """Per-batch stage timings of the run (from the progress file): where the time goes."""
    import json

    from otellake.ingest.progress import progress_file

    path = progress_file(settings, query)
    if not path.is_file():
        return []
    batches = []
    for line in path.read_text().splitlines():
        batch = json.loads(line)
        batches.append(
            {
                "batch": batch.get("batch_id"),
                "records": batch.get("records"),
                "rows": batch.get("rows"),
                "seconds": batch.get("seconds"),
                "spark_ms": batch.get("spark_ms"),
                "kafka_lag": batch.get("kafka_lag"),
            }
        )
    return batches


def steady_rows_per_s(batches: list[dict[str, Any]]) -> float:
    """Rows per second of a run's batches after its first (which starts the query: its state
    stores, and in a new JVM the JIT's warm-up), from the batches' own seconds."""
    steady = batches[1:] or batches
    seconds = sum(b["seconds"]["batch"] for b in steady)
    return sum(b["rows"] for b in steady) / seconds if seconds else 0.0


def stage_totals(batches: list[dict[str, Any]]) -> dict[str, float]:
    """Sum of each stage over the batches (ours: read_decode, write_<table>; Spark's: addBatch,
    walCommit, ...)."""
    totals: dict[str, float] = {}
    for batch in batches:
        for stage, seconds in (batch.get("seconds") or {}).items():
            totals[stage] = round(totals.get(stage, 0.0) + seconds, 2)
        for stage, ms in (batch.get("spark_ms") or {}).items():
            totals[f"spark.{stage}"] = round(totals.get(f"spark.{stage}", 0.0) + ms / 1000, 2)
    return totals


def _local_cores(spark: SparkSession) -> int:
    """Cores Spark computes on: N of local[N] (local[*]: all of them)."""
    master = spark.sparkContext.master or ""
    if master.startswith("local[") and master[6:-1].isdigit():
        return int(master[6:-1])
    return os.cpu_count() or 1
