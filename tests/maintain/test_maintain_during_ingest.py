"""`maintain` while the ingest stream writes the same tables: no lost row, no failed batch."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from otellake.maintain import run_maintain
from otellake.settings import Settings
from tests.ingest.conftest import BackgroundIngest, ingest_now, produce, read_table
from tests.maintain.conftest import span_records


def _batches(settings: Settings) -> list[dict[str, Any]]:
    path = settings.home / "progress" / "ingest_traces.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_maintain_while_ingest_runs(lake_settings: Settings, spark: Any) -> None:
    settings = lake_settings.model_copy(update={"max_offsets_per_trigger": 3})

    produce(settings, settings.topic_spans, span_records(12, 40, time.time_ns()))
    ingest = BackgroundIngest(spark, settings, trigger="500ms")
    stop, errors, thread = ingest.stop, ingest.errors, ingest.thread
    try:
        deadline = time.monotonic() + 240
        while len(_batches(settings)) < 3 and time.monotonic() < deadline and not errors:
            time.sleep(0.2)  # polling the progress file for the first batches
        assert len(_batches(settings)) >= 3, errors
        compacted = 0
        for _ in range(2):  # maintain twice, more records arriving in between
            produce(settings, settings.topic_spans, span_records(12, 40, time.time_ns()))
            result = run_maintain(spark, settings, tables=["spans", "trace_index"])
            compacted += sum(len(t["compaction"]["partitions"]) for t in result["tables"])
            assert not errors, errors
    finally:
        stop.set()
        thread.join(timeout=300)
    assert not thread.is_alive() and not errors, errors
    assert compacted >= 1

    ingest_now(spark, settings)  # whatever the stream had not reached yet
    spans = read_table(spark, settings, "spans")
    assert spans.count() == 36 * 40
    assert spans.select("trace_id", "span_id").distinct().count() == 36 * 40
    index = read_table(spark, settings, "trace_index").groupBy("trace_id").sum("span_count")
    assert sorted(r[1] for r in index.collect()) == [40] * 36
    # Every Kafka record in exactly one batch (a failed batch would not be in the progress
    # file).
    assert sum(b["records"] for b in _batches(settings)) == 36
    assert Path(settings.home / "maintenance" / "maintain.jsonl").exists()
