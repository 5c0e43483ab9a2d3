"""Exactly-once appends: a batch a table holds already is not appended again, whether this run
wrote it, an earlier run did (found in the commit history), or Delta's txn check did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from otellake.ingest.appends import (
    ExactlyOnceAppender,
    History,
    Marker,
    last_batch_in_history,
    read_history,
)

APP = "otellake/ingest_traces/spans/q-1"


def _rows(spark: Any, batch_id: int, n: int = 3) -> Any:
    return spark.createDataFrame([(batch_id, i) for i in range(n)], "batch_id int, i int")


def _count(spark: Any, path: Path) -> dict[int, int]:
    rows = spark.read.format("delta").load(str(path)).groupBy("batch_id").count().collect()
    return {r.batch_id: r["count"] for r in rows}


def _user_metadata(spark: Any, path: Path) -> list[str | None]:
    from delta.tables import DeltaTable

    rows = DeltaTable.forPath(spark, str(path)).history().orderBy("version").collect()
    return [r.userMetadata for r in rows]


def test_a_batch_is_appended_once_by_this_run_and_by_the_next(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    first_run = ExactlyOnceAppender()
    results = [first_run.append(_rows(spark, b), path, APP, b) for b in (0, 1, 1)]
    assert [(r.appended, r.known_from) for r in results] == [
        (True, "new"),  # a new table: no append that could be the app's
        (True, "this run"),
        (False, "this run"),  # the same batch again
    ]
    # a restart (new appender) replays batch 1: learnt from the history, skipped; 2 lands
    second_run = ExactlyOnceAppender()
    replay = second_run.append(_rows(spark, 1), path, APP, 1)
    assert (replay.appended, replay.known_from) == (False, "history")
    assert second_run.append(_rows(spark, 2), path, APP, 2).appended
    assert _count(spark, tmp_path / "t") == {0: 3, 1: 3, 2: 3}
    markers = [Marker.parse(m) for m in _user_metadata(spark, tmp_path / "t")]
    assert markers == [Marker(APP, 0), Marker(APP, 1), Marker(APP, 2)]


def test_other_commits_between_are_paged_through(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    ExactlyOnceAppender().append(_rows(spark, 7), path, APP, 7)
    # five commits of others after ours: another app, a maintenance note, plain appends
    ExactlyOnceAppender().append(_rows(spark, 100), path, "otellake/other/spans/q-2", 100)
    spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", json.dumps({"delete": 1}))
    try:
        _rows(spark, 101).write.format("delta").mode("append").save(path)
    finally:
        spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")
    for b in (102, 103, 104):
        _rows(spark, b).write.format("delta").mode("append").save(path)
    assert last_batch_in_history(spark, path, APP, page=2) == 7
    appender = ExactlyOnceAppender(history_page=2)
    replay = appender.append(_rows(spark, 7), path, APP, 7)
    assert (replay.appended, replay.known_from) == (False, "history")
    assert last_batch_in_history(spark, path, "otellake/never/spans/q-3", page=2) is None


def test_commits_of_deltas_txn_mechanism_are_honoured(spark: Any, tmp_path: Path) -> None:
    """Tables written before these markers (txnAppId / txnVersion only): Delta's check
    decides the first append of the run, then markers take over."""
    path = str(tmp_path / "t")
    for b in (0, 1):
        (
            _rows(spark, b)
            .write.format("delta")
            .mode("append")
            .option("txnAppId", APP)
            .option("txnVersion", b)
            .save(path)
        )
    appender = ExactlyOnceAppender()
    replay = appender.append(_rows(spark, 1), path, APP, 1)
    assert (replay.appended, replay.known_from) == (False, "delta txn")
    assert read_history(spark, path, APP) == History(None, unmarked_appends=True)
    nxt = appender.append(_rows(spark, 2), path, APP, 2)
    assert (nxt.appended, nxt.known_from) == (True, "this run")
    assert _count(spark, tmp_path / "t") == {0: 3, 1: 3, 2: 3}
    assert Marker.parse(_user_metadata(spark, tmp_path / "t")[-1]) == Marker(APP, 2)


def test_only_its_own_markers_are_read() -> None:
    assert Marker.parse(Marker(APP, 3).json()) == Marker(APP, 3)
    for other in (None, "", "a note", "{", "[1]", '{"app_id": 1, "batch_id": 2}', '{"x": 1}'):
        assert Marker.parse(other) is None


def test_marked_appends_and_maintenance_need_no_txn_check(spark: Any, tmp_path: Path) -> None:
    """Another app's marked appends and an OPTIMIZE cannot carry this app's SetTransaction:
    the first append goes without Delta's check; a plain append in between brings it back."""
    path = str(tmp_path / "t")
    ExactlyOnceAppender().append(_rows(spark, 5), path, "otellake/other/spans/q-2", 5)
    spark.sql(f"OPTIMIZE delta.`{path}`")
    assert read_history(spark, path, APP) == History(None, unmarked_appends=False)
    first = ExactlyOnceAppender().append(_rows(spark, 0), path, APP, 0)
    assert (first.appended, first.known_from) == (True, "new")
    assert read_history(spark, path, APP) == History(0, unmarked_appends=False)
    _rows(spark, 9).write.format("delta").mode("append").save(path)
    other = "otellake/third/spans/q-4"
    assert read_history(spark, path, other) == History(None, unmarked_appends=True)
    third = ExactlyOnceAppender().append(_rows(spark, 1), path, other, 1)
    assert (third.appended, third.known_from) == (True, "delta txn")
    assert _count(spark, tmp_path / "t") == {5: 3, 0: 3, 9: 3, 1: 3}
