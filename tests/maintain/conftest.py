"""Maintenance test helpers: a lake written without Kafka, by the ingest's own transforms."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from otellake import jvm_decoders, lake
from otellake.ingest.pipelines import PIPELINES
from otellake.settings import Settings
from otellake.transform.records import decode_records
from tests.ingest.conftest import lake_settings  # noqa: F401 - the shared-broker fixture
from tests.otlp_builders import request, span, span_id, trace_id

DAY_NS = 86_400 * 1_000_000_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", lake=str(tmp_path / "lake"))  # type: ignore[arg-type]


def span_records(
    n_records: int, spans_per_record: int, start_ns: int, service: str = "svc"
) -> list[bytes]:
    out = []
    for r in range(n_records):
        tid = trace_id()
        spans = [
            span(f"op-{i}", tid, span_id(), start=start_ns + r * 1000 + i)
            for i in range(spans_per_record)
        ]
        out.append(request([({"service.name": service}, [("s", "1", spans)])]).SerializeToString())
    return out


def write_traces(
    spark: Any, settings: Settings, records: list[bytes], offset0: int = 0, files: int = 1
) -> None:
    """Append ``records`` as one ingest batch would (spans and trace_index), no Kafka; each
    table gets ``files`` files per date partition (rows spread round-robin)."""
    udf = jvm_decoders.register(spark, settings, "traces")
    now = datetime.now(UTC)
    kafka = spark.createDataFrame(
        [("t", 0, offset0 + i, now, None, r) for i, r in enumerate(records)],
        "topic STRING, partition INT, offset BIGINT, timestamp TIMESTAMP, key BINARY, value BINARY",
    )
    decoded = kafka.transform(decode_records(udf, settings.max_record_bytes)).cache()
    for output in PIPELINES["traces"].outputs:
        path = lake.table_path(settings, output.table)
        if not Path(path).is_dir():
            lake.ensure_table(spark, settings, output.table)
        rows = output.rows(decoded, now)
        rows.repartition(files).write.format("delta").mode("append").save(path)
    decoded.unpersist()
