"""Measure ingest: N items (spans, log records or metric points) produced straight to Kafka
as whole export requests, then `ingest --available-now` for that one signal.

Usage (the stack must be up; uses the settings from the environment, own topic and lake):
    .venv/bin/python bench/ingest_rate.py --signal traces --items 1000000 [--per-record 1000]
Prints one JSON object: items/s, per core, stage seconds, bytes per item on Kafka and disk.
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

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
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


def _resource(rng: random.Random, g: int) -> tuple[str, Resource]:
    service = SERVICES[rng.randrange(len(SERVICES))]
    return service, Resource(
        attributes=[_kv("service.name", service), _kv("host.name", f"{service}-{g}")]
    )


def build_logs(rng: random.Random, per_record: int, base_ns: int) -> bytes:
    """One export request: 2 resources, log records with templated bodies and trace context."""
    groups = []
    for g in range(2):
        service, resource = _resource(rng, g)
        records = [
            LogRecord(
                time_unix_nano=base_ns + rng.randrange(3_600_000_000_000),
                observed_time_unix_nano=base_ns,
                severity_number=9 if rng.random() > 0.05 else 17,
                severity_text="INFO",
                trace_id=rng.randbytes(16),
                span_id=rng.randbytes(8),
                body=AnyValue(
                    string_value=f"order {rng.randrange(10**6)} processed in "
                    f"{rng.randrange(500)} ms by {service}"
                ),
                attributes=[
                    _kv("code.function", "handle"),
                    _kv("user.id", str(rng.randrange(10**4))),
                ],
            )
            for _ in range(per_record // 2)
        ]
        groups.append(
            ResourceLogs(
                resource=resource,
                scope_logs=[
                    ScopeLogs(
                        scope=InstrumentationScope(name="bench", version="1"), log_records=records
                    )
                ],
            )
        )
    return ExportLogsServiceRequest(resource_logs=groups).SerializeToString()


def build_metrics(rng: random.Random, per_record: int, base_ns: int) -> bytes:
    """One export request: a mix of sum, gauge and histogram points (4:4:2)."""
    groups = []
    cumulative = m.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    for g in range(2):
        _, resource = _resource(rng, g)
        n = per_record // 2
        t = dict(start_time_unix_nano=base_ns, time_unix_nano=base_ns + rng.randrange(10**12))

        def attrs(i: int) -> list[KeyValue]:
            return [_kv("http.route", f"/api/{i % 17}"), _kv("http.response.status_code", 200)]

        metrics = [
            m.Metric(
                name="http.server.requests",
                sum=m.Sum(
                    aggregation_temporality=cumulative,
                    is_monotonic=True,
                    data_points=[
                        m.NumberDataPoint(as_int=rng.randrange(10**6), attributes=attrs(i), **t)
                        for i in range(n * 4 // 10)
                    ],
                ),
            ),
            m.Metric(
                name="process.cpu.utilization",
                gauge=m.Gauge(
                    data_points=[
                        m.NumberDataPoint(as_double=rng.random(), attributes=attrs(i), **t)
                        for i in range(n * 4 // 10)
                    ]
                ),
            ),
            m.Metric(
                name="http.server.request.duration",
                unit="s",
                histogram=m.Histogram(
                    aggregation_temporality=cumulative,
                    data_points=[
                        m.HistogramDataPoint(
                            count=10,
                            sum=1.5,
                            min=0.01,
                            max=0.9,
                            bucket_counts=[1, 2, 3, 2, 1, 1, 0],
                            explicit_bounds=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
                            attributes=attrs(i),
                            **t,
                        )
                        for i in range(n - 2 * (n * 4 // 10))
                    ],
                ),
            ),
        ]
        groups.append(
            m.ResourceMetrics(
                resource=resource,
                scope_metrics=[
                    m.ScopeMetrics(
                        scope=InstrumentationScope(name="bench", version="1"), metrics=metrics
                    )
                ],
            )
        )
    return ExportMetricsServiceRequest(resource_metrics=groups).SerializeToString()


BUILDERS = {"traces": build_record, "logs": build_logs, "metrics": build_metrics}
TABLES = {
    "traces": ["spans"],
    "logs": ["logs"],
    "metrics": ["metrics_sum", "metrics_gauge", "metrics_histogram"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signal", choices=sorted(BUILDERS), default="traces")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--per-record", type=int, default=1000)
    parser.add_argument("--max-offsets-per-trigger", type=int, default=None)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    base = Settings()
    settings = base.model_copy(
        update={
            "topic_spans": f"bench_spans_{tag}",
            "topic_logs": f"bench_logs_{tag}",
            "topic_metrics": f"bench_metrics_{tag}",
            "home": base.home / f"bench-{tag}",
            "lake": str(base.home / f"bench-{tag}" / "lake"),
            "max_offsets_per_trigger": args.max_offsets_per_trigger,
        }
    )
    topic = settings.topics[args.signal]
    kafka_clients.ensure_topics(settings, [topic], settings.topic_partitions)
    rng = random.Random(42)
    n_records = args.items // args.per_record
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
        value = BUILDERS[args.signal](rng, args.per_record, base_ns)
        raw_bytes += len(value)
        producer.send(topic, value=value)
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
    run_ingest(
        spark, settings, IngestOptions(signals=(args.signal,), available_now=True), lines.append
    )
    ingest_s = time.monotonic() - t
    items = sum(
        spark.read.format("delta").load(lake.table_path(settings, table)).count()
        for table in TABLES[args.signal]
    )
    data_bytes = sum(
        p.stat().st_size
        for table in TABLES[args.signal]
        for p in Path(lake.table_path(settings, table)).rglob("*.parquet")
    )
    progress = [
        json.loads(x)
        for x in (settings.home / "progress" / f"ingest_{args.signal}.jsonl")
        .read_text()
        .splitlines()
    ]
    stages: dict[str, float] = {}
    for p in progress:
        for k, v in p["seconds"].items():
            stages[k] = round(stages.get(k, 0.0) + v, 2)
    cores = os.cpu_count() or 1
    print(
        json.dumps(
            {
                "signal": args.signal,
                "items": items,
                "records": n_records,
                "ingest_s": round(ingest_s, 2),
                "jvm_start_s": round(jvm_start_s, 2),
                "items_per_s": round(items / ingest_s),
                "items_per_s_per_core": round(items / ingest_s / cores),
                "records_per_s_per_core": round(n_records / ingest_s / cores, 1),
                "cores": cores,
                "kafka_bytes_per_item_uncompressed": round(raw_bytes / items, 1),
                "disk_bytes_per_item": round(data_bytes / items, 1),
                "stage_seconds": stages,
                "batches": len(progress),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
