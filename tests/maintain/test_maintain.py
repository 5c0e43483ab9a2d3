"""`maintain`: TTL per table, compaction per date partition, VACUUM; figures before/after."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from otellake import lake
from otellake.maintain import run_maintain, table_state
from otellake.settings import Settings
from tests.maintain.conftest import DAY_NS, span_records, write_traces


def _now_ns() -> int:
    return time.time_ns()


def test_ttl_compaction_vacuum_and_dry_run(
    spark: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = _now_ns()
    records = span_records(20, 20, now - DAY_NS) + span_records(20, 20, now)
    write_traces(spark, settings, records, files=4)  # four files in each live partition
    write_traces(spark, settings, span_records(2, 10, now - 40 * DAY_NS), offset0=100)
    spans = lake.table_path(settings, "spans")
    before = table_state(spans)
    assert (before.files, before.rows, before.partitions) == (9, 820, 3), before

    dry = run_maintain(spark, settings, tables=["spans"], dry_run=True)
    (t,) = dry["tables"]
    assert t["ttl"]["rows"] == 20 and len(t["ttl"]["partitions"]) == 1
    assert t["ttl"]["retention_days"] == 30
    assert len(t["compaction"]["partitions"]) == 2
    assert t["compaction"]["mode"] == "zorder(trace_id)"
    assert t["after"] == t["before"]  # nothing changed
    assert table_state(spans) == before

    # Retention per table; VACUUM at 0 h removes what TTL and compaction replaced.
    monkeypatch.setenv("OTELLAKE_RETENTION_DAYS_SPANS", "30")
    settings = settings.model_copy(update={"vacuum_hours": 0})
    result = run_maintain(spark, settings, tables=["spans"])
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
    again = run_maintain(spark, settings, tables=["spans"])["tables"][0]
    assert again["compaction"]["partitions"] == [] and again["ttl"]["rows"] == 0
    assert again["after"]["files"] == 2


def read_count(spark: Any, settings: Settings) -> int:
    return int(spark.read.format("delta").load(lake.table_path(settings, "spans")).count())


def test_every_table_and_unknown_table(spark: Any, settings: Settings) -> None:
    write_traces(spark, settings, span_records(4, 5, _now_ns()), files=2)
    result = run_maintain(spark, settings)
    assert [t["table"] for t in result["tables"]] == ["spans", "trace_index"]
    index = result["tables"][1]
    assert index["before"]["files"] == 2 and index["after"]["files"] == 1
    from otellake.errors import BadInput

    with pytest.raises(BadInput, match="no table \\['logs'\\]"):
        run_maintain(spark, settings, tables=["logs"])
    cutoff = (datetime.now(UTC).date() - timedelta(days=30)).isoformat()
    assert result["tables"][0]["ttl"]["cutoff"] == cutoff
