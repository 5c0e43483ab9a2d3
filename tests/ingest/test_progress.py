"""The progress line: the figures it computes, and Spark's own reaching it from a real query."""

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from otellake.ingest.progress import behind_s, records_waiting


def test_behind_is_the_age_of_the_oldest_record() -> None:
    assert behind_s(None) is None
    behind = behind_s(int((time.time() - 60) * 1000))
    assert behind is not None and 59 <= behind <= 61
    assert behind_s(int((time.time() + 5) * 1000)) == 0  # a producer clock ahead of ours


def test_records_waiting_sum_what_each_partition_left_behind_the_batch() -> None:
    def source(end: object, latest: object) -> SimpleNamespace:
        return SimpleNamespace(endOffset=json.dumps(end), latestOffset=json.dumps(latest))

    batch = source({"spans": {"0": 40, "1": 7}}, {"spans": {"0": 100, "1": 7}})
    assert records_waiting([batch]) == 60
    # a partition the batch's end offsets do not name yet: nothing counted for it
    assert records_waiting([source({"spans": {"0": 5}}, {"spans": {"0": 9, "1": 3}})]) == 4
    # no offsets yet (a query that read nothing): nothing waits
    assert records_waiting([source(None, None)]) == 0
    assert records_waiting([]) == 0


def test_a_batch_reports_spark_progress_through_the_json_bridge(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real streaming query's progress reaches the reporter (through ``_ProgressAsJson``, one
    JSON string per event) and lands in the progress file with Spark's own figures."""
    import json

    from otellake.ingest import progress
    from otellake.ingest.progress import BatchStats, ProgressReporter, progress_file
    from tests.conftest import isolated_settings

    bridged: list[int] = []
    through_json = progress._ProgressAsJson.onQueryProgress

    def counted(self: Any, jevent: Any) -> None:
        bridged.append(1)
        through_json(self, jevent)

    monkeypatch.setattr(progress._ProgressAsJson, "onQueryProgress", counted)

    settings = isolated_settings(tmp_path / "home")
    lines: list[str] = []
    reporter = ProgressReporter(settings, lines.append)
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.json").write_text('{"n": 1}\n{"n": 2}\n{"n": 3}\n')

    def batch(df: Any, batch_id: int) -> None:
        reporter.record(BatchStats("progress_probe", batch_id, records=df.count(), rows=3))

    spark.streams.addListener(reporter)
    try:
        query = (
            spark.readStream.schema("n INT").json(str(source))
            .writeStream.queryName("progress_probe").foreachBatch(batch)
            .option("checkpointLocation", str(tmp_path / "checkpoint"))
            .trigger(availableNow=True).start()
        )  # fmt: skip
        query.awaitTermination(120)
        reporter.wait_until_reported(30)
    finally:
        spark.streams.removeListener(reporter)
    written = [
        json.loads(line)
        for line in progress_file(settings, "progress_probe").read_text().splitlines()
    ]
    assert [(w["batch_id"], w["records"], w["rows"]) for w in written] == [(0, 3, 3)]
    assert written[0]["spark_ms"]["addBatch"] >= 0 and written[0]["duration_s"] > 0
    assert bridged  # the JSON bridge carried it, not PySpark's field-by-field one
    assert any(line.startswith("progress_probe batch 0: 3 records -> 3 rows") for line in lines)
