"""Attribute hygiene on every signal, and SDK logs and metrics through the real Collector."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from pyspark.sql import functions as F

from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import (
    any_value,
    attrs,
    logs_request,
    metrics_request,
    request,
    span,
    span_id,
    trace_id,
)

PII = {"user.email": "a@b.c", "secret": "hunter2", "keep": "yes"}
HASHED = hashlib.sha256(b"a@b.c").hexdigest()


def test_drop_and_hash_apply_to_every_signal(lake_settings: Settings, spark: Any) -> None:
    settings = lake_settings.model_copy(
        update={"attr_drop": ("secret",), "attr_hash": ("user.email",)}
    )
    resource = {"service.name": "pii", **PII}
    produce(
        settings,
        settings.topic_spans,
        [
            request(
                [(resource, [("s", "1", [span("op", trace_id(), span_id(), attributes=PII)])])]
            ).SerializeToString()
        ],
    )
    produce(
        settings,
        settings.topic_logs,
        [
            logs_request(
                [
                    (
                        resource,
                        [
                            (
                                "s",
                                "1",
                                [
                                    LogRecord(
                                        time_unix_nano=1, body=any_value("b"), attributes=attrs(PII)
                                    )
                                ],
                            )
                        ],
                    )
                ]
            ).SerializeToString()
        ],
    )
    produce(
        settings,
        settings.topic_metrics,
        [
            metrics_request(
                [
                    (
                        resource,
                        [
                            (
                                "s",
                                "1",
                                [
                                    m.Metric(
                                        name="g",
                                        gauge=m.Gauge(
                                            data_points=[
                                                m.NumberDataPoint(
                                                    as_int=1,
                                                    time_unix_nano=1,
                                                    attributes=attrs(PII),
                                                )
                                            ]
                                        ),
                                    )
                                ],
                            )
                        ],
                    )
                ]
            ).SerializeToString()
        ],
    )
    ingest_now(spark, settings, signals=("traces", "logs", "metrics"))

    expected = {"user.email": HASHED, "keep": "yes"}
    [s] = read_table(spark, settings, "spans").collect()
    [lg] = read_table(spark, settings, "logs").collect()
    [g] = read_table(spark, settings, "metrics_gauge").collect()
    for row, item_map in ((s, s.span_attributes), (lg, lg.log_attributes), (g, g.attributes)):
        assert item_map == expected
        assert row.resource_attributes == {"service.name": "pii", **expected}


def test_sdk_logs_and_metrics_through_the_collector(
    stack: Settings, tmp_path: Path, spark: Any
) -> None:
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
    from opentelemetry.sdk.resources import Resource

    settings = stack.model_copy(update={"home": tmp_path / "home", "lake": str(tmp_path / "lake")})
    service = f"sdk-{tmp_path.name[-8:]}"
    endpoint = f"http://127.0.0.1:{settings.otlp_grpc_port}"
    resource = Resource.create({"service.name": service})
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True))
    )
    from opentelemetry._logs import LogRecord as ApiLogRecord

    logger_provider.get_logger("sdk-test").emit(
        ApiLogRecord(
            body="disk almost full",
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            attributes={"disk": "/var"},
        )
    )
    logger_provider.shutdown()

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint, insecure=True), export_interval_millis=600_000
    )
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[reader],
        views=[
            View(instrument_name="latency_exp", aggregation=ExponentialBucketHistogramAggregation())
        ],
    )
    meter = meter_provider.get_meter("sdk-test")
    meter.create_counter("orders").add(5, {"shop": "eu"})
    meter.create_up_down_counter("inflight").add(-2)
    meter.create_histogram("latency").record(12.5)
    meter.create_histogram("latency_exp").record(3.0)

    def observe(_options: CallbackOptions) -> list[Observation]:
        return [Observation(0.42, {"core": "0"})]

    meter.create_observable_gauge("cpu", callbacks=[observe])
    meter_provider.shutdown()  # collects and exports once

    def landed() -> bool:
        ingest_now(spark, settings, signals=("logs", "metrics"))
        return all(
            read_table(spark, settings, t).where(F.col("service_name") == service).count() > 0
            for t in (
                "logs",
                "metrics_sum",
                "metrics_gauge",
                "metrics_histogram",
                "metrics_exp_histogram",
            )
        )

    deadline = time.monotonic() + 120
    while not landed():  # the Collector batches and exports asynchronously
        assert time.monotonic() < deadline, "SDK logs/metrics did not reach the lake in 120 s"

    def mine(table: str) -> dict[str, Any]:
        df = read_table(spark, settings, table).where(F.col("service_name") == service)
        return {r.metric_name: r for r in df.collect()}

    [log] = read_table(spark, settings, "logs").where(F.col("service_name") == service).collect()
    assert (log.body, log.severity_text, log.log_attributes) == (
        "disk almost full",
        "WARN",
        {"disk": "/var"},
    )
    sums = mine("metrics_sum")
    assert (sums["orders"].value, sums["orders"].is_monotonic, sums["orders"].attributes) == (
        5.0,
        True,
        {"shop": "eu"},
    )
    assert (sums["inflight"].value, sums["inflight"].is_monotonic) == (-2.0, False)
    assert sums["orders"].aggregation_temporality == "CUMULATIVE"
    hist = mine("metrics_histogram")["latency"]
    assert (hist["count"], hist.sum, hist.min, hist.max) == (1, 12.5, 12.5, 12.5)
    exp = mine("metrics_exp_histogram")["latency_exp"]
    assert (exp["count"], exp.sum) == (1, 3.0)
    assert sum(exp.positive_bucket_counts) == 1
    gauge = mine("metrics_gauge")["cpu"]
    assert (gauge.value, gauge.attributes) == (0.42, {"core": "0"})
