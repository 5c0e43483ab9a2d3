"""Freshness: a steady stream of spans through the Collector while ingest runs (trigger 1 s).

Freshness of a span = the commit time of the Delta version that added its file - the span's
end time (docs/contract.md). The spans come from the OpenTelemetry SDK at a paced rate, ended
just before they are handed to the exporter, so the figure covers the SDK's batch delay, the
Collector's batching, Kafka, and the streaming batch. The sender runs in a process of its own,
as an application does, so it never holds the GIL that the batch's own Python side (a few
hundred Py4J calls per batch) needs.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from otellake import lake
from otellake.benchmark.ours import table_bytes_per_row
from otellake.ingest import IngestOptions, run_ingest
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


T = TypeVar("T")


def in_own_process(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a fresh interpreter (spawned: this one holds a JVM gateway's threads),
    so a load generator never competes with the ingest it measures for this one's GIL."""
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(work, *args).result()


@dataclass
class FreshnessFigures:
    sent: int
    landed: int
    seconds: float
    p50_s: float
    p95_s: float
    max_s: float


def _send_paced(settings: Settings, service: str, rate: float, seconds: float) -> int:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(
        endpoint=f"http://127.0.0.1:{settings.otlp_grpc_port}", insecure=True
    )
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter, max_queue_size=100_000, schedule_delay_millis=200,
            max_export_batch_size=2000,
        )
    )  # fmt: skip
    tracer = provider.get_tracer("otellake-bench")
    started = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate) + 1
        while sent < due:
            with tracer.start_as_current_span("GET /fresh", attributes={"i": sent}):
                pass
            sent += 1
        time.sleep(0.005)  # pacing the sender, not synchronising with the pipeline
    provider.shutdown()  # flushes what is queued
    return sent


def _commit_times(table_path: str) -> dict[str, float]:
    """Data file (relative path) -> commit time in seconds, from the Delta log."""
    times: dict[str, float] = {}
    for entry in sorted(Path(table_path, "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in entry.read_text().splitlines() if line]
        stamp = next((a["commitInfo"]["timestamp"] for a in actions if "commitInfo" in a), None)
        if stamp is None:
            stamp = entry.stat().st_mtime * 1000
        for action in actions:
            if "add" in action:
                times[action["add"]["path"]] = stamp / 1000
    return times


def lags(settings: Settings, service: str | None = None) -> list[float]:
    """Freshness of every span in the lake (of ``service`` only, if given), in seconds."""
    from urllib.parse import unquote

    import duckdb

    path = lake.table_path(settings, "spans")
    commits = _commit_times(path)
    files = [f"{path}/{unquote(rel)}" for rel in commits]
    if not files:
        return []
    rows = duckdb.execute(
        "SELECT filename, end_time_unix_nano FROM read_parquet($files, filename = true) "
        "WHERE $service IS NULL OR service_name = $service",
        {"files": files, "service": service},
    ).fetchall()
    by_file = {f"{path}/{unquote(rel)}": t for rel, t in commits.items()}
    return [by_file[name] - end / 1e9 for name, end in rows]


def wait_for_first_progress(spark: SparkSession, failure: list[BaseException]) -> None:
    """Until the ingest query has run a batch (it then reads from the latest offsets)."""
    deadline = time.monotonic() + 300
    while not any(q.lastProgress for q in spark.streams.active):
        if failure or time.monotonic() > deadline:
            raise RuntimeError(f"the ingest query did not start: {failure}")
        time.sleep(0.5)  # polling for the first progress event, with a deadline


@contextmanager
def live_ingest(
    spark: SparkSession, settings: Settings, emit: Any, run: str
) -> Iterator[list[BaseException]]:
    """The traces ingest as a service (trigger 1 s, from the latest offsets) in a thread for
    the block, which it enters once the query has run its first batch; the list holds the
    ingest's failure, if any (raised when the block ends)."""
    stop = threading.Event()
    failure: list[BaseException] = []
    options = IngestOptions(signals=("traces",), trigger="1s", starting_offsets="latest")

    def ingest() -> None:
        try:
            run_ingest(spark, settings, options, emit, stop)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failure.append(exc)

    thread = threading.Thread(target=ingest, name=f"bench-{run}", daemon=True)
    thread.start()
    try:
        wait_for_first_progress(spark, failure)
        yield failure
    finally:
        stop.set()
        thread.join(timeout=300)
    if failure:
        raise RuntimeError(f"ingest failed during the {run} run: {failure[0]}")


def wait_until_landed(
    settings: Settings,
    sent: int,
    failure: list[BaseException],
    service: str | None = None,
    timeout_s: float = 300,
) -> list[float]:
    """The freshness of the spans in the lake, once all ``sent`` landed (or at the deadline).
    Polls the row counts of the Delta snapshot: reading every span each second would take CPU
    from the ingest it measures."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not failure:
        time.sleep(1)  # polling the lake for the last spans, with a deadline
        if _rows_committed(settings) >= sent and len(landed := lags(settings, service)) >= sent:
            return landed
    return lags(settings, service)


def _rows_committed(settings: Settings) -> int:
    """Rows in the spans table (0 before its first commit)."""
    path = Path(lake.table_path(settings, "spans"), "_delta_log")
    return table_bytes_per_row(settings, "spans")[2] if path.is_dir() else 0


def measure(
    spark: SparkSession, settings: Settings, rate: float, seconds: float, emit: Any
) -> FreshnessFigures:
    import numpy as np

    service = f"fresh-{uuid.uuid4().hex[:8]}"
    with live_ingest(spark, settings, emit, "freshness") as failure:
        sent = in_own_process(_send_paced, settings, service, rate, seconds)
        landed = wait_until_landed(settings, sent, failure, service)
    values = np.array(landed)
    return FreshnessFigures(
        sent=sent,
        landed=len(landed),
        seconds=seconds,
        p50_s=float(np.percentile(values, 50)) if landed else float("nan"),
        p95_s=float(np.percentile(values, 95)) if landed else float("nan"),
        max_s=float(values.max()) if landed else float("nan"),
    )
