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
holds no commit of this app but an append without a marker (which may carry the app's
``SetTransaction``), the first append of the run goes through ``txnAppId`` / ``txnVersion``
once, and Delta skips it if its ``SetTransaction`` says so. A history without such an append (a
new table) skips that check: it rebuilt the table's state and read the history again, ~0.85 s
of the first batch of every new query, which then started behind a stream that kept coming.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# how the last batch a table holds was learnt: this run's own appends, a commit of the app in
# the table's history, a history with no append that could be the app's (a new table, or only
# marked appends and maintenance), or (an unmarked append found) Delta's txn check
Source = Literal["this run", "history", "new", "delta txn"]

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


# operations of appends that may carry Delta's own txn (foreachBatch or a streaming Delta sink)
APPEND_OPERATIONS = frozenset({"WRITE", "STREAMING UPDATE"})


@dataclass(frozen=True)
class History:
    """What a table's commit history says about one app."""

    last_batch: int | None  # the batch id of the app's latest commit; None: no commit of it
    # an append without a marker: it may carry a SetTransaction of the app (Delta's txn check)
    unmarked_appends: bool


def read_history(spark: SparkSession, path: str, app_id: str, page: int = HISTORY_PAGE) -> History:
    """The app's latest batch in the table's history (newest first: the last ``page`` commits,
    then, only if none of them is the app's, the whole history)."""
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return History(None, unmarked_appends=False)
    table = DeltaTable.forPath(spark, path)
    rows = table.history(page).select("userMetadata", "operation").collect()
    found = _latest_marker(rows, app_id)
    if found is None and len(rows) == page:
        rows = table.history().select("userMetadata", "operation").collect()
        found = _latest_marker(rows, app_id)
    unmarked = any(
        r.operation in APPEND_OPERATIONS and Marker.parse(r.userMetadata) is None for r in rows
    )
    return History(found, unmarked_appends=found is None and unmarked)


def last_batch_in_history(
    spark: SparkSession, path: str, app_id: str, page: int = HISTORY_PAGE
) -> int | None:
    """The batch id of ``app_id``'s latest commit in the table's history; None if the history
    has none (or the table does not exist yet)."""
    return read_history(spark, path, app_id, page).last_batch


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
        if source == "delta txn":  # an unmarked append may be the app's: Delta's check, once
            writer = writer.option("txnAppId", app_id).option("txnVersion", batch_id)
        try:
            writer.save(path)
        except BaseException:
            self._forget(path)  # the commit may or may not have landed: ask the table again
            raise
        appended = True
        if source == "delta txn":
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
        history = read_history(spark, path, app_id, self.history_page)
        if history.last_batch is None:
            return None, "delta txn" if history.unmarked_appends else "new"
        with self._lock:
            self._last[path] = (history.last_batch, "history")
        return history.last_batch, "history"

    def _forget(self, path: str) -> None:
        with self._lock:
            self._last.pop(path, None)
