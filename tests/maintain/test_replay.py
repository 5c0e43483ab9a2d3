"""`replay-quarantine`: records that decode after a fix land exactly once and are marked."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from otellake import lake
from otellake.fixes import replay_quarantine
from otellake.generate.otlp_json import to_otlp_json
from otellake.ingest.batch import BatchWriter, prepare
from otellake.ingest.progress import ProgressReporter
from otellake.settings import Settings
from tests.otlp_builders import request, span, span_id, trace_id


def _ingest_batch(spark: Any, settings: Settings, records: list[bytes], batch_id: int) -> None:
    """One ingest batch of these records, as the stream writes it (no Kafka needed)."""
    prepared = prepare(spark, settings, "traces")
    reporter = ProgressReporter(settings, print)
    writer = BatchWriter(settings, prepared, reporter, query_id="test")
    now = datetime.now(UTC)
    kafka = spark.createDataFrame(
        [("spans", 0, batch_id * 100 + i, now, None, r) for i, r in enumerate(records)],
        "topic STRING, partition INT, offset BIGINT, timestamp TIMESTAMP, key BINARY, value BINARY",
    )
    writer.write(kafka, batch_id)


def _table(spark: Any, settings: Settings, table: str) -> Any:
    return spark.read.format("delta").load(lake.table_path(settings, table))


def test_replay_lands_fixed_records_once_and_marks_them(spark: Any, settings: Settings) -> None:
    settings = settings.model_copy(update={"topic_spans": "spans"})
    start = time.time_ns()
    tid = trace_id()
    as_json = request(
        [
            (
                {"service.name": "j"},
                [("s", "1", [span(f"j{i}", tid, span_id(), start=start) for i in range(3)])],
            )
        ]
    )
    mixed = request(
        [
            (
                {"service.name": "m"},
                [
                    (
                        "s",
                        "1",
                        [
                            span("ok", trace_id(), span_id(), start=start),
                            span("bad", b"\x01" * 15, span_id(), start=start),
                        ],
                    )
                ],
            )
        ]
    ).SerializeToString()
    json_record = json.dumps(to_otlp_json(as_json)).encode()
    good = request(
        [({"service.name": "g"}, [("s", "1", [span("g", trace_id(), span_id(), start=start)])])]
    )
    _ingest_batch(spark, settings, [good.SerializeToString(), mixed, json_record, b"\x07junk"], 0)
    assert _table(spark, settings, "spans").count() == 2  # g and ok
    reasons = sorted(r.reason for r in _table(spark, settings, "quarantine").collect())
    assert reasons == ["invalid_id", "proto_decode", "proto_decode"]

    # The "fix": these records were JSON all along. Replay with the JSON decoder.
    fixed = settings.model_copy(update={"encoding": "otlp_json"})
    result = replay_quarantine(spark, fixed, reason="proto_decode")
    traces = result.signals["traces"]
    assert traces.records == 2
    assert traces.inserted == {"spans": 3, "quarantine": 0}  # junk: not quarantined twice
    assert (traces.marked_replayed, traces.still_quarantined) == (1, 1)
    spans = _table(spark, settings, "spans")
    assert spans.count() == 5
    assert sorted(r.span_name for r in spans.where("service_name = 'j'").collect()) == [
        "j0",
        "j1",
        "j2",
    ]
    index = _table(spark, settings, "trace_index").where(f"trace_id = '{tid.hex()}'").collect()
    assert [r.span_count for r in index] == [3]
    q = {
        r.reason + ":" + str(r.replayed_at is not None)
        for r in _table(spark, settings, "quarantine").collect()
    }
    assert q == {"invalid_id:False", "proto_decode:True", "proto_decode:False"}
    assert _table(spark, settings, "quarantine").count() == 3  # nothing quarantined twice

    # Again: nothing left to insert, nothing quarantined twice.
    again = replay_quarantine(spark, fixed, reason="proto_decode")
    assert again.signals["traces"].inserted == {"quarantine": 0}
    # The invalid-id record replayed unfixed: its good span is not duplicated, its bad one
    # stays quarantined, unmarked.
    unfixed = replay_quarantine(spark, settings, reason="invalid_id").signals["traces"]
    assert unfixed.inserted == {"spans": 0, "quarantine": 0}
    assert (unfixed.marked_replayed, unfixed.still_quarantined) == (0, 1)
    assert _table(spark, settings, "spans").count() == 5
    assert _table(spark, settings, "quarantine").count() == 3
    log = (settings.home / "maintenance" / "replays.jsonl").read_text().splitlines()
    assert len(log) == 3
