"""The otlp_json encoding decodes to the very same rows as otlp_proto, for every signal."""

from __future__ import annotations

import uuid
from typing import Any

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, SeverityNumber
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otellake import kafka_clients, schemas
from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import (
    any_value,
    attrs,
    logs_request,
    metrics_request,
    nested,
    request,
    span,
    span_id,
    to_otlp_json,
    trace_id,
)

T = 1_700_000_000_000_000_000
RICH = {
    "s": "x",
    "b": True,
    "i": -(2**62),
    "d": 1.25,
    "bytes": b"\x00\x01",
    "arr": [1, "a"],
    "deep": nested(6),
    "empty": None,
}


def _requests() -> dict[str, list[Any]]:
    tid, root = trace_id(), span_id()
    spans = [
        span(
            "root",
            tid,
            root,
            start=T,
            attributes=RICH,
            trace_state="a=b",
            flags=257,
            dropped_attributes_count=2,
            events=[Span.Event(time_unix_nano=T + 1, name="ev", attributes=attrs({"k": 1}))],
            links=[Span.Link(trace_id=trace_id(), span_id=span_id(), attributes=attrs({"l": 2}))],
        ),
        span(
            "child",
            tid,
            span_id(),
            parent=root,
            start=T + 5,
            kind=Span.SPAN_KIND_CLIENT,
            status=Status.STATUS_CODE_ERROR,
        ),
        span("bad", trace_id()[:15], span_id()),
    ]
    logs = [
        LogRecord(
            time_unix_nano=T,
            observed_time_unix_nano=T,
            trace_id=tid,
            span_id=root,
            severity_number=SeverityNumber.SEVERITY_NUMBER_ERROR,
            severity_text="E",
            body=any_value(value),
            attributes=attrs({"kind": kind}),
        )
        for kind, value in RICH.items()
    ]
    point = dict(start_time_unix_nano=T, time_unix_nano=T + 10)
    metrics = [
        m.Metric(name="g", gauge=m.Gauge(data_points=[m.NumberDataPoint(as_int=3, **point)])),
        m.Metric(
            name="c",
            sum=m.Sum(
                aggregation_temporality=m.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
                is_monotonic=True,
                data_points=[
                    m.NumberDataPoint(
                        as_double=2.5,
                        exemplars=[
                            m.Exemplar(as_int=1, time_unix_nano=T, trace_id=tid, span_id=root)
                        ],
                        **point,
                    )
                ],
            ),
        ),
        m.Metric(
            name="h",
            histogram=m.Histogram(
                data_points=[
                    m.HistogramDataPoint(
                        count=2,
                        sum=3.0,
                        min=1.0,
                        bucket_counts=[1, 1],
                        explicit_bounds=[1.5],
                        **point,
                    )
                ]
            ),
        ),
        m.Metric(
            name="e",
            exponential_histogram=m.ExponentialHistogram(
                data_points=[
                    m.ExponentialHistogramDataPoint(
                        count=3,
                        scale=1,
                        zero_count=1,
                        positive=m.ExponentialHistogramDataPoint.Buckets(
                            offset=-1, bucket_counts=[2]
                        ),
                        **point,
                    )
                ]
            ),
        ),
        m.Metric(
            name="q",
            summary=m.Summary(
                data_points=[
                    m.SummaryDataPoint(
                        count=1,
                        sum=1.0,
                        quantile_values=[
                            m.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=1.0)
                        ],
                        **point,
                    )
                ]
            ),
        ),
    ]
    resource = {"service.name": "json-vs-proto", "host": "h"}
    return {
        "traces": [request([(resource, [("sc", "1", spans)])])],
        "logs": [logs_request([(resource, [("sc", "1", logs)])])],
        "metrics": [metrics_request([(resource, [("sc", "1", metrics)])])],
    }


def _ingest(
    base: Settings, tmp: Any, encoding: str, requests: dict[str, list[Any]], spark: Any
) -> Settings:
    tag = uuid.uuid4().hex[:8]
    settings = base.model_copy(
        update={
            "encoding": encoding,
            "home": tmp / encoding,
            "lake": str(tmp / encoding / "lake"),
            "topic_spans": f"spans_{tag}",
            "topic_logs": f"logs_{tag}",
            "topic_metrics": f"metrics_{tag}",
        }
    )
    kafka_clients.ensure_topics(settings, list(settings.topics.values()), partitions=1)
    encode = to_otlp_json if encoding == "otlp_json" else (lambda r: r.SerializeToString())
    for signal, topic in settings.topics.items():
        extra = [b'{"resourceSpans": [', b"\x07 not protobuf"] if signal == "traces" else []
        produce(settings, topic, [encode(r) for r in requests[signal]] + extra)
    ingest_now(spark, settings, signals=("traces", "logs", "metrics"))
    return settings


def test_same_requests_both_ways_give_identical_tables(
    lake_settings: Settings, spark: Any, tmp_path: Any
) -> None:
    requests = _requests()
    proto = _ingest(lake_settings, tmp_path, "otlp_proto", requests, spark)
    json_ = _ingest(lake_settings, tmp_path, "otlp_json", requests, spark)

    for table in schemas.table_names():
        if table in ("quarantine", "trace_index", "anomalies"):
            continue
        a = [r.asDict(recursive=True) for r in read_table(spark, proto, table).collect()]
        b = [r.asDict(recursive=True) for r in read_table(spark, json_, table).collect()]
        assert a, table
        assert sorted(a, key=repr) == sorted(b, key=repr), table  # row for row

    def bad(settings: Settings) -> list[tuple[str, str]]:
        rows = read_table(spark, settings, "quarantine").collect()
        return sorted((r.reason, r.item_path) for r in rows)

    item = ("invalid_id", "resource_spans[0].scope_spans[0].spans[2]")
    assert bad(proto) == sorted([item, ("proto_decode", ""), ("proto_decode", "")])
    assert bad(json_) == sorted([item, ("json_decode", ""), ("json_decode", "")])
