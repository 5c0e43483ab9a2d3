"""Measure traces ingest: N spans produced straight to Kafka, then `ingest --available-now`.

Usage (the stack must be up; uses the settings from the environment, own topic and lake):
    .venv/bin/python bench/ingest_traces.py --spans 1000000 [--spans-per-record 1000]
Prints one JSON object: spans/s, per core, stage seconds, bytes per span on Kafka and disk.
(The benchmark issue turns this into `make bench`.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from otellake import kafka_clients, lake
from otellake.ingest.runner import IngestOptions, run_ingest
from otellake.settings import Settings
from otellake.spark_session import build_spark_session

SERVICES = ["frontend", "checkout", "cart", "payment", "currency", "shipping", "catalog", "recs"]


def _kv(key: str, value: str | int) -> KeyValue:
    v = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=v)


def build_record(rng: random.Random, spans_per_record: int, base_ns: int) -> bytes:
    """One export request: 2 resources x 1 scope, traces of 10 spans with typical attributes."""
    groups = []
    per_group = spans_per_record // 2
    for g in range(2):
        service = SERVICES[rng.randrange(len(SERVICES))]
        spans = []
        for i in range(per_group):
            if i % 10 == 0:
                tid, parent = rng.randbytes(16), b""
            sid = rng.randbytes(8)
            start = base_ns + rng.randrange(3_600_000_000_000)
            spans.append(
                Span(
                    trace_id=tid,
                    span_id=sid,
                    parent_span_id=parent,
                    name=f"GET /api/{i % 17}",
                    kind=Span.SPAN_KIND_SERVER,
                    start_time_unix_nano=start,
                    end_time_unix_nano=start + rng.randrange(100_000, 50_000_000),
                    attributes=[
                        _kv("http.request.method", "GET"),
                        _kv("http.response.status_code", 200 if rng.random() > 0.02 else 503),
                        _kv("url.path", f"/api/{i % 17}"),
                        _kv("server.address", service),
                        _kv("user.id", str(rng.randrange(10_000))),
                    ],
                    status=Status(code=Status.STATUS_CODE_UNSET),
                )
            )
            parent = sid
        groups.append(
            ResourceSpans(
                resource=Resource(
                    attributes=[
                        _kv("service.name", service),
                        _kv("host.name", f"{service}-{g}"),
                        _kv("telemetry.sdk.language", "python"),
                    ]
                ),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name="bench", version="1"), spans=spans)
                ],
            )
        )
    return ExportTraceServiceRequest(resource_spans=groups).SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--spans-per-record", type=int, default=1000)
    parser.add_argument("--max-offsets-per-trigger", type=int, default=None)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    base = Settings()
    settings = base.model_copy(
        update={
            "topic_spans": f"bench_spans_{tag}",
            "home": base.home / f"bench-{tag}",
            "lake": str(base.home / f"bench-{tag}" / "lake"),
            "max_offsets_per_trigger": args.max_offsets_per_trigger,
        }
    )
    kafka_clients.ensure_topics(settings, [settings.topic_spans], settings.topic_partitions)
    rng = random.Random(42)
    n_records = args.spans // args.spans_per_record
    t = time.monotonic()
    producer = kafka_clients.producer(
        settings,
        acks=1,
        compression_type="zstd",
        max_request_size=8 << 20,
        linger_ms=50,
        batch_size=1 << 20,
    )
    raw_bytes = 0
    base_ns = time.time_ns() - 3_600_000_000_000
    for _ in range(n_records):
        value = build_record(rng, args.spans_per_record, base_ns)
        raw_bytes += len(value)
        producer.send(settings.topic_spans, value=value)
    producer.flush()
    producer.close()
    produce_s = time.monotonic() - t
    print(
        f"produced {n_records} records ({raw_bytes / 1e6:.0f} MB) in {produce_s:.1f}s",
        file=sys.stderr,
    )

    t = time.monotonic()
    spark = build_spark_session(settings, app_name="bench-ingest")
    jvm_start_s = time.monotonic() - t
    lines: list[str] = []
    t = time.monotonic()
    run_ingest(spark, settings, IngestOptions(available_now=True), lines.append)
    ingest_s = time.monotonic() - t
    spans = spark.read.format("delta").load(lake.table_path(settings, "spans")).count()
    data_bytes = sum(
        p.stat().st_size for p in Path(lake.table_path(settings, "spans")).rglob("*.parquet")
    )
    progress = [
        json.loads(x)
        for x in (settings.home / "progress" / "ingest_traces.jsonl").read_text().splitlines()
        if '"query": "ingest_traces"' in x
    ]
    stages: dict[str, float] = {}
    for p in progress:
        for k, v in p["seconds"].items():
            stages[k] = round(stages.get(k, 0.0) + v, 2)
    cores = os.cpu_count() or 1
    print(
        json.dumps(
            {
                "spans": spans,
                "records": n_records,
                "ingest_s": round(ingest_s, 2),
                "jvm_start_s": round(jvm_start_s, 2),
                "spans_per_s": round(spans / ingest_s),
                "spans_per_s_per_core": round(spans / ingest_s / cores),
                "cores": cores,
                "kafka_bytes_per_span_uncompressed": round(raw_bytes / spans, 1),
                "disk_bytes_per_span": round(data_bytes / spans, 1),
                "stage_seconds": stages,
                "batches": len(progress),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
