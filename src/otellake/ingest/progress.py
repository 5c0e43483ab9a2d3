"""One line per streaming batch on the console, and the same as JSON lines under
``$OTELLAKE_HOME/progress/<query>.jsonl`` (what `otellake status` shows)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql.streaming import StreamingQueryListener
from pyspark.sql.streaming.listener import JStreamingQueryListener, QueryProgressEvent

from otellake.settings import Settings


@dataclass
class BatchStats:
    """What our foreachBatch saw; merged with Spark's own progress for the batch."""

    query: str
    batch_id: int
    records: int = 0
    rows: int = 0
    quarantined: int = 0
    truncated_values: int = 0
    repaired_utf8: int = 0
    # spans dropped by the producer-retry dedup (already delivered within the window)
    duplicates: int = 0
    # backfill and replay (insert-only MERGE): rows each table actually took
    inserted: dict[str, int] = field(default_factory=dict)
    # tables that held this batch already (a batch replayed after a crash): not appended again
    already_in: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    # the Kafka timestamp of the batch's oldest record (epoch ms): how far behind the stream
    # was, once the batch landed (``behind_s``)
    oldest_record_ms: int | None = None


def behind_s(oldest_record_ms: int | None) -> float | None:
    """Seconds from the batch's oldest record's Kafka timestamp to now, when the batch has
    landed: how far behind the stream is. Spark's own lag (``kafka_lag``) counts the records
    left behind when the batch was planned, 0 whenever a batch takes all there is, however
    long ago those records arrived."""
    import time

    if oldest_record_ms is None:
        return None
    return round(max(0.0, time.time() - oldest_record_ms / 1000), 1)


def progress_file(settings: Settings, query: str) -> Path:
    return settings.home / "progress" / f"{query}.jsonl"


def last_batches(settings: Settings) -> list[dict[str, Any]]:
    """The newest progress line of every query that ever ran under this home."""
    result = []
    for path in sorted((settings.home / "progress").glob("*.jsonl")):
        lines = path.read_text().splitlines()
        if lines:
            result.append(json.loads(lines[-1]))
    return result


def records_waiting(sources: Any) -> int:
    """Records a batch left in Kafka: from each partition's end offset to the latest offset
    Spark knew when it planned the batch, summed (a source with no offsets yet counts 0)."""
    waiting = 0
    for source in sources:
        try:
            end = json.loads(source.endOffset or "null") or {}
            latest = json.loads(source.latestOffset or "null") or {}
        except ValueError:
            continue
        if not isinstance(end, dict) or not isinstance(latest, dict):
            continue
        for topic, partitions in latest.items():
            ended = end.get(topic, {})
            waiting += sum(max(0, int(n) - int(ended.get(p, n))) for p, n in partitions.items())
    return waiting


class _ProgressAsJson(JStreamingQueryListener):
    """PySpark's bridge for a Python listener, but a progress event crosses it as one JSON
    string. PySpark's own bridge reads every field through its own Py4J call (the state
    operator's ~60 RocksDB metrics included): ~0.5 s of the Python side per batch in a 2k
    spans/s run, contending for the GIL with the batch it reports on."""

    def onQueryProgress(self, jevent: Any) -> None:
        progress = json.loads(jevent.progress().json())
        self.pylistener.onQueryProgress(QueryProgressEvent.fromJson({"progress": progress}))


class ProgressReporter(StreamingQueryListener):
    """Joins BatchStats (from foreachBatch) with Spark's progress event for the same batch."""

    def __init__(self, settings: Settings, emit: Callable[[str], None]) -> None:
        self._settings = settings
        self._emit = emit
        self._stats: dict[tuple[str, int], BatchStats] = {}
        self._waiting: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def _jlistener(self) -> Any:
        """The JVM side of this listener (what ``addListener`` registers), through
        :class:`_ProgressAsJson`."""
        if not hasattr(self, "_jlistenerobj"):
            from pyspark import SparkContext

            jvm: Any = SparkContext._jvm
            self._jlistenerobj = jvm.PythonStreamingQueryListenerWrapper(_ProgressAsJson(self))
        return self._jlistenerobj

    def say(self, message: str) -> None:
        """A message about the queries (not a batch's progress)."""
        self._emit(message)

    def record(self, stats: BatchStats) -> None:
        with self._lock:
            self._stats[(stats.query, stats.batch_id)] = stats

    def onQueryStarted(self, event: Any) -> None:
        self._emit(f"query {event.name} started (id {event.id})")

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        if event.exception:
            self._emit(f"query {event.id} failed: {event.exception.splitlines()[0]}")

    def records_waiting(self, query: str) -> int:
        """Records the query's last batch left in Kafka (0 before its first batch)."""
        with self._lock:
            return self._waiting.get(query, 0)

    def onQueryProgress(self, event: Any) -> None:
        p = event.progress
        key = (p.name, p.batchId)
        with self._lock:
            stats = self._stats.get(key)
            self._waiting[p.name] = records_waiting(p.sources)
        if stats is None:  # an empty trigger: no foreachBatch call
            return
        try:
            self._report(p, stats)
        finally:
            # only now: wait_until_reported returns once no batch awaits its line, so a
            # batch leaves only after its line is in the file
            with self._lock:
                self._stats.pop(key, None)

    def _report(self, p: Any, stats: BatchStats) -> None:
        """Append the batch's progress line and say it."""
        lag = None
        for source in p.sources:
            metrics = getattr(source, "metrics", None) or {}
            if "maxOffsetsBehindLatest" in metrics:
                lag = int(float(metrics["maxOffsetsBehindLatest"]))
        duration_s = p.batchDuration / 1000.0
        line = {
            **asdict(stats),
            "timestamp": p.timestamp,
            "duration_s": round(duration_s, 3),
            "rows_per_s": round(stats.rows / duration_s, 1) if duration_s > 0 else None,
            "kafka_lag": lag,
            "behind_s": behind_s(stats.oldest_record_ms),
            "spark_ms": dict(p.durationMs),
        }
        path = progress_file(self._settings, p.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        self._emit(
            f"{p.name} batch {p.batchId}: {stats.records} records -> {stats.rows} rows, "
            f"{stats.quarantined} quarantined, {duration_s:.2f}s "
            f"({line['rows_per_s']} rows/s), lag {lag if lag is not None else '?'}"
            + (f", {line['behind_s']}s behind" if line["behind_s"] is not None else "")
            + (f", {stats.truncated_values} values truncated" if stats.truncated_values else "")
            + (f", {stats.duplicates} duplicate spans dropped" if stats.duplicates else "")
            + (
                f", already in {', '.join(sorted(stats.already_in))} (a replayed batch: "
                "not appended again)"
                if stats.already_in
                else ""
            )
            + (
                f", {stats.repaired_utf8} strings with invalid UTF-8 repaired"
                if stats.repaired_utf8
                else ""
            )
        )

    def wait_until_reported(self, timeout_s: float) -> None:
        """Progress events arrive asynchronously; give the last ones a bounded chance."""
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._stats:
                    return
            time.sleep(0.1)
