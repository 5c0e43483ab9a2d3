"""`maintain` meets a real conflicting commit, provoked at a known moment: the step is retried
and completes.

How the commit lands between OPTIMIZE's read and its commit, without hoping: before the step's
first attempt (``maintain.before_attempt``) a Spark job takes every task slot of the local
session and holds it. OPTIMIZE reads the table's snapshot on the driver and submits its
compaction job, which waits for a slot. Once that job is submitted, a second writer (delta-rs,
which needs no Spark) deletes a trace from the partition, rewriting the files OPTIMIZE read;
then the slots are released. OPTIMIZE commits, Delta finds the files it compacted removed
(``ConcurrentDeleteReadException``, which OPTIMIZE does not retry by itself, unlike a
concurrent append), and maintain starts the step over.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from otellake import lake, maintain
from otellake.maintain import run_maintain, table_state
from otellake.settings import Settings
from tests.maintain.conftest import span_records, write_traces

DEADLINE_S = 120.0


def _wait_for(what: str, condition: Any, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {deadline_s} s"
        time.sleep(0.05)  # polling


def _local_slots(master: str) -> int:
    """Task slots of a local master (``local``, ``local[2]``, ``local[*]``, ``local[2,3]``)."""
    if master == "local":
        return 1
    match = re.fullmatch(r"local\[(\d+|\*)(?:,\d+)?\]", master)
    assert match, f"the test session runs on {master!r}; expected a local master"
    if match.group(1) == "*":
        return os.cpu_count() or 1
    return int(match.group(1))


class SlotHolder:
    """A Spark job whose tasks occupy every task slot of the session until released (each
    polls for a file), so that any other job waits."""

    def __init__(self, spark: Any, folder: Path) -> None:
        self.spark = spark
        self.slots = _local_slots(spark.sparkContext.master)
        self.release_file = str(folder / f"release-{uuid.uuid4().hex}")
        self.started = folder / f"started-{uuid.uuid4().hex}"
        self.thread: threading.Thread | None = None
        self.job_id: int | None = None

    def hold(self) -> None:
        """Start the job; return once every slot is taken."""
        self.started.mkdir()
        started, release, deadline_s = str(self.started), self.release_file, DEADLINE_S

        def task(index: int) -> None:
            import os
            import time as t

            open(os.path.join(started, str(index)), "w").close()
            end = t.monotonic() + deadline_s
            while not os.path.exists(release) and t.monotonic() < end:
                t.sleep(0.02)

        rdd = self.spark.sparkContext.parallelize(range(self.slots), self.slots)
        self.thread = threading.Thread(target=lambda: rdd.foreach(task), name="hold-slots")
        self.thread.start()
        _wait_for("task holding a slot", lambda: len(list(self.started.iterdir())) == self.slots)
        _wait_for("the holding job in the status store", lambda: self._own_job() is not None)
        self.job_id = self._own_job()

    def _own_job(self) -> int | None:
        ours = [i for i, (_, site) in _jobs(self.spark).items() if Path(__file__).name in site]
        return max(ours) if ours else None

    def release(self) -> None:
        Path(self.release_file).touch()
        if self.thread is not None:
            self.thread.join(timeout=DEADLINE_S)


def _jobs(spark: Any) -> dict[int, tuple[str, str]]:
    """Job id -> (description, call site) of the session's jobs in Spark's status store."""
    jobs = spark.sparkContext._jsc.sc().statusStore().jobsList(None)
    out = {}
    for i in range(jobs.size()):
        job = jobs.apply(i)
        description = job.description()
        text = description.get() if description.isDefined() else ""
        out[int(job.jobId())] = (text, str(job.name()))
    return out


def test_a_conflicting_commit_during_optimize_is_retried_and_the_step_completes(
    spark: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from deltalake import DeltaTable

    today = datetime.now(UTC).date()
    noon_ns = int(datetime(today.year, today.month, today.day, 12, tzinfo=UTC).timestamp()) * 10**9
    write_traces(spark, settings, span_records(6, 10, noon_ns), files=3)  # one day, three files
    spans = lake.table_path(settings, "spans")
    assert (table_state(spans).files, table_state(spans).rows) == (3, 60)
    victim = DeltaTable(spans).to_pyarrow_table(columns=["trace_id"])["trace_id"][0].as_py()

    step = f"spans: optimize date = '{today.isoformat()}'"
    attempts: list[tuple[str, int]] = []
    holder = SlotHolder(spark, tmp_path)
    held: list[int] = []

    def before_attempt(what: str, attempt: int) -> None:
        attempts.append((what, attempt))
        if what == step and attempt == 1:
            holder.hold()
            assert holder.job_id is not None
            held.append(holder.job_id)

    monkeypatch.setattr(maintain, "before_attempt", before_attempt)
    lines: list[str] = []
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(
                run_maintain(spark, settings, tables=["spans"], emit=lines.append, today=today)
            )
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    thread = threading.Thread(target=run, name="maintain")
    thread.start()
    try:
        _wait_for("slots held", lambda: bool(held) or not thread.is_alive())
        assert held, (errors, lines)

        def waiting_jobs() -> list[tuple[str, str]]:
            return [job for i, job in sorted(_jobs(spark).items()) if i > held[0]]

        # A job submitted after the slots were taken is OPTIMIZE's: it took the table's latest
        # snapshot (cached: no job) and now lists the partition's files (a job, waiting)
        _wait_for("OPTIMIZE job", lambda: bool(waiting_jobs()))
        print("jobs waiting for a slot:", waiting_jobs())
        DeltaTable(spans).delete(f"trace_id = '{victim}'")  # the second writer
    finally:
        holder.release()
        thread.join(timeout=300)
    assert not errors, errors

    assert [a for a in attempts if a[0] == step] == [(step, 1), (step, 2)]
    message = f"{step}: a concurrent commit conflicted (ConcurrentDeleteReadException); retrying"
    assert message in lines, lines
    (report,) = results[0]["tables"]
    assert report["retried"] == [step]
    # the step completed on the table as the second writer left it: one file, the victim gone
    assert report["after"]["files"] == 1 and report["after"]["rows"] == 50
    history = spark.sql(f"DESCRIBE HISTORY delta.`{spans}`").orderBy("version").collect()
    operations = [r.operation for r in history]
    assert operations.count("OPTIMIZE") == 1  # the conflicting attempt committed nothing
    assert operations.index("DELETE") < operations.index("OPTIMIZE")
