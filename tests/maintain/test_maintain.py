"""`maintain`: TTL per table, compaction per date partition, VACUUM; figures before/after."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from otellake import lake
from otellake.maintain import partition_files, run_maintain, table_state
from otellake.settings import Settings
from tests.maintain.conftest import DAY_NS, span_records, write_traces


def _noon_ns(day: date) -> int:
    """Noon UTC of ``day``: rows written around it stay on that day."""
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()) * 10**9


def test_ttl_compaction_vacuum_and_dry_run(spark: Any, settings: Settings) -> None:
    today = datetime.now(UTC).date()  # once, and given to maintain: no race with midnight
    now = _noon_ns(today)
    records = span_records(20, 20, now - DAY_NS) + span_records(20, 20, now)
    write_traces(spark, settings, records, files=4)  # four files in each live partition
    write_traces(spark, settings, span_records(2, 10, now - 40 * DAY_NS), offset0=100)
    spans = lake.table_path(settings, "spans")
    before = table_state(spans)
    assert (before.files, before.rows, before.partitions) == (9, 820, 3), before

    dry = run_maintain(spark, settings, tables=["spans"], dry_run=True, today=today)
    (t,) = dry["tables"]
    assert t["ttl"]["rows"] == 20 and len(t["ttl"]["partitions"]) == 1
    assert t["ttl"]["retention_days"] == 30
    assert len(t["compaction"]["partitions"]) == 2
    assert t["compaction"]["mode"] == "zorder(trace_id)"
    assert t["after"] == t["before"]  # nothing changed
    assert table_state(spans) == before

    # VACUUM at 0 h removes what TTL and compaction replaced (per-table retention: below).
    settings = settings.model_copy(update={"vacuum_hours": 0})
    result = run_maintain(spark, settings, tables=["spans"], today=today)
    (t,) = result["tables"]
    assert t["before"]["files"] == 9 and t["before"]["rows"] == 820
    assert t["after"]["files"] == 2 and t["after"]["rows"] == 800
    assert t["after"]["partitions"] == 2
    assert t["after"]["bytes"] < t["before"]["bytes"]
    assert t["vacuum"]["files"] == 9  # the 8 compacted files and the expired one
    assert t["lookup"]["after"]["rows"] == 20  # one trace, found after clustering
    assert t["lookup"]["before"]["files_admitting_id"] >= 1
    assert 1 <= t["lookup"]["after"]["files_admitting_id"] <= 2  # at most one file per day
    assert read_count(spark, settings) == 800
    data_files = list((settings.home.parent / "lake" / "spans").rglob("*.parquet"))
    assert len(data_files) == 2
    assert (settings.home / "maintenance" / "maintain.jsonl").read_text().count("\n") == 1

    # A second run finds nothing to do.
    again = run_maintain(spark, settings, tables=["spans"], today=today)["tables"][0]
    assert again["compaction"]["partitions"] == [] and again["ttl"]["rows"] == 0
    assert again["after"]["files"] == 2


def read_count(spark: Any, settings: Settings) -> int:
    return int(spark.read.format("delta").load(lake.table_path(settings, "spans")).count())


def _dates(path: str) -> list[date]:
    return sorted({p.date for p in partition_files(path, 1) if p.date is not None})


def test_retention_per_table(
    spark: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``OTELLAKE_RETENTION_DAYS_SPANS=3`` next to a default of 10 days: each table loses
    exactly the partitions older than its own cutoff (the cutoff day itself is kept)."""
    today = datetime.now(UTC).date()  # once, and given to maintain: no race with midnight
    noon = _noon_ns(today)
    ages = [0, 2, 3, 4, 10, 11, 40]
    # one record of one trace per day, written as one batch (one file per day and table)
    write_traces(spark, settings, [r for a in ages for r in span_records(1, 5, noon - a * DAY_NS)])
    settings = settings.model_copy(update={"retention_days": 10})
    monkeypatch.setenv("OTELLAKE_RETENTION_DAYS_SPANS", "3")
    days = {age: today - timedelta(days=age) for age in ages}
    spans, index = (lake.table_path(settings, t) for t in ("spans", "trace_index"))
    assert _dates(spans) == _dates(index) == sorted(days.values())

    result = run_maintain(spark, settings, tables=["spans", "trace_index"], today=today)
    ttl = {t["table"]: t["ttl"] for t in result["tables"]}
    assert ttl["spans"] == {
        "retention_days": 3,
        "cutoff": days[3].isoformat(),
        "partitions": [days[a].isoformat() for a in (40, 11, 10, 4)],
        "rows": 20,
        "files": 4,
    }
    assert ttl["trace_index"] == {
        "retention_days": 10,
        "cutoff": days[10].isoformat(),
        "partitions": [days[a].isoformat() for a in (40, 11)],
        "rows": 2,
        "files": 2,
    }
    assert _dates(spans) == [days[a] for a in (3, 2, 0)]
    assert _dates(index) == [days[a] for a in (10, 4, 3, 2, 0)]
    assert read_count(spark, settings) == 15

    monkeypatch.setenv("OTELLAKE_RETENTION_DAYS_SPANS", "0")
    with pytest.raises(ValueError, match="OTELLAKE_RETENTION_DAYS_SPANS='0'; expected whole days"):
        settings.retention_days_for("spans")


def test_every_table_and_unknown_table(spark: Any, settings: Settings) -> None:
    today = datetime.now(UTC).date()  # once, and given to maintain: no race with midnight
    write_traces(spark, settings, span_records(4, 5, _noon_ns(today)), files=2)
    result = run_maintain(spark, settings, today=today)
    assert [t["table"] for t in result["tables"]] == ["spans", "trace_index"]
    index = result["tables"][1]
    assert index["before"]["files"] == 2 and index["after"]["files"] == 1
    from otellake.errors import BadInput

    with pytest.raises(BadInput, match="no table \\['logs'\\]"):
        run_maintain(spark, settings, tables=["logs"])
    cutoff = (today - timedelta(days=30)).isoformat()
    assert result["tables"][0]["ttl"]["cutoff"] == cutoff


def test_vacuum_keeps_exactly_the_hours_asked_for(spark: Any, settings: Settings) -> None:
    """OTELLAKE_VACUUM_HOURS=2: files no version references (a failed write's leftovers) are
    deleted once older than 2 h, younger ones kept (Delta 4 would otherwise ignore any
    retention but 0 h and keep 7 days)."""
    import os
    import shutil
    import time

    today = datetime.now(UTC).date()
    write_traces(spark, settings, span_records(20, 20, _noon_ns(today)), files=1)
    spans = lake.table_path(settings, "spans")
    (data,) = _referenced(spark, spans)
    leftovers = [data.with_name(f"part-leftover-{i}.parquet") for i in range(4)]
    old = time.time() - 3 * 3600
    for i, leftover in enumerate(leftovers):
        shutil.copyfile(data, leftover)
        if i < 3:  # three were left 3 h ago, one just now
            os.utime(leftover, (old, old))
    settings = settings.model_copy(update={"vacuum_hours": 2})
    (t,) = run_maintain(spark, settings, tables=["spans"], today=today)["tables"]
    assert t["vacuum"] == {"retention_hours": 2, "files": 3}
    assert sorted(Path(spans).rglob("*.parquet")) == sorted([data, leftovers[3]])
    assert read_count(spark, settings) == 400


def _referenced(spark: Any, path: str) -> set[Path]:
    """The data files the table's current version references."""
    files = spark.read.format("delta").load(path).inputFiles()
    return {Path(f.removeprefix("file:")) for f in files}
