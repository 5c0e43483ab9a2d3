"""Exactly-once appends of a streaming query's batches, one Delta transaction per table.

Each append's commit carries ``{"app_id": ..., "batch_id": N}`` as its ``userMetadata``. A
batch is appended unless the table already holds a commit of this app with a batch id at or
above it: a batch retried after a crash (same batch id, Spark replays it from the offsets it
had not committed) lands once, although its tables are separate transactions.

Why not Delta's own ``txnAppId`` / ``txnVersion``: Delta answers that check from the table's
full state (``Snapshot.transactions``), which it rebuilds with three Spark jobs on every
append. That was 38% of the writer threads' time in a 2k spans/s run (async-profiler, wall
clock), ~0.5 s of every batch. Here the check runs once per table per query run, from the
commit history; after that the writer knows what it committed itself.

Commits written by Delta's mechanism (before this module) are still honoured: when the history
holds no commit of this app, the first append of the run goes through ``txnAppId`` /
``txnVersion`` once, and Delta skips it if its ``SetTransaction`` says so.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# how the last batch a table holds was learnt: this run's own appends, a commit of the app in
# the table's history, or (no commit of the app found) Delta's txn check on the next append
Source = Literal["this run", "history", "delta txn"]

HISTORY_PAGE = 100


@dataclass(frozen=True)
class Marker:
    """The ``userMetadata`` of one of this module's commits."""

    app_id: str
    batch_id: int

    def json(self) -> str:
        return json.dumps({"app_id": self.app_id, "batch_id": self.batch_id})

    @staticmethod
    def parse(user_metadata: str | None) -> Marker | None:
        """The marker in a commit's ``userMetadata``; None for anything else (a maintenance
        note, a user's text)."""
        if not user_metadata or not user_metadata.startswith("{"):
            return None
        try:
            value = json.loads(user_metadata)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        app_id, batch_id = value.get("app_id"), value.get("batch_id")
        if isinstance(app_id, str) and isinstance(batch_id, int):
            return Marker(app_id, batch_id)
        return None


@dataclass(frozen=True)
class AppendResult:
    table_path: str
    batch_id: int
    appended: bool  # False: the table already held this batch
    known_from: Source  # how the last batch was learnt before this append


def last_batch_in_history(
    spark: SparkSession, path: str, app_id: str, page: int = HISTORY_PAGE
) -> int | None:
    """The batch id of ``app_id``'s latest commit in the table's history (newest first: the
    last ``page`` commits, then, only if none of them is the app's, the whole history); None if
    the history has none (or the table does not exist yet)."""
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return None
    table = DeltaTable.forPath(spark, path)
    recent = table.history(page).select("userMetadata").collect()
    found = _latest_marker(recent, app_id)
    if found is not None or len(recent) < page:
        return found
    return _latest_marker(table.history().select("userMetadata").collect(), app_id)


def _latest_marker(rows: list[Any], app_id: str) -> int | None:
    """The batch id in the first (newest) of ``rows`` that carries ``app_id``'s marker."""
    for row in rows:
        marker = Marker.parse(row.userMetadata)
        if marker is not None and marker.app_id == app_id:
            return marker.batch_id
    return None


@dataclass
class ExactlyOnceAppender:
    """Appends each (table, batch id) of one streaming query run at most once."""

    history_page: int = HISTORY_PAGE
    _last: dict[str, tuple[int, Source]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def append(self, df: DataFrame, path: str, app_id: str, batch_id: int) -> AppendResult:
        spark = df.sparkSession
        last, source = self._last_known(spark, path, app_id)
        if last is not None and batch_id <= last:
            return AppendResult(path, batch_id, appended=False, known_from=source)
        writer = (
            df.write.format("delta")
            .mode("append")
            .option("userMetadata", Marker(app_id, batch_id).json())
        )
        if last is None:  # no commit of this app in the history: Delta's own check, once
            writer = writer.option("txnAppId", app_id).option("txnVersion", batch_id)
        try:
            writer.save(path)
        except BaseException:
            self._forget(path)  # the commit may or may not have landed: ask the table again
            raise
        appended = True
        if last is None:
            # Delta skipped it if a SetTransaction of the app said so: then no commit of the app
            # carries this batch's marker
            appended = last_batch_in_history(spark, path, app_id, self.history_page) == batch_id
        with self._lock:
            self._last[path] = (batch_id, "this run")
        return AppendResult(path, batch_id, appended=appended, known_from=source)

    def _last_known(self, spark: SparkSession, path: str, app_id: str) -> tuple[int | None, Source]:
        with self._lock:
            known = self._last.get(path)
        if known is not None:
            return known
        last = last_batch_in_history(spark, path, app_id, self.history_page)
        if last is None:
            return None, "delta txn"
        with self._lock:
            self._last[path] = (last, "history")
        return last, "history"

    def _forget(self, path: str) -> None:
        with self._lock:
            self._last.pop(path, None)
