"""Malformed logs and metrics records are quarantined; good ones around them land."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import any_value, logs_request, metrics_request, span_id, trace_id


def test_bad_logs_and_metrics_records(lake_settings: Settings, spark: Any) -> None:
    def log_record(body: str, **ids: bytes) -> LogRecord:
        return LogRecord(time_unix_nano=1, body=any_value(body), **ids)

    good_logs = logs_request(
        [
            (
                {"service.name": "l"},
                [
                    (
                        "s",
                        "1",
                        [
                            log_record("ok-1"),
                            log_record("bad-id", trace_id=trace_id()[:15]),
                            log_record("ok-2", trace_id=trace_id(), span_id=span_id()),
                        ],
                    )
                ],
            )
        ]
    ).SerializeToString()
    gauge = m.Metric(name="g", gauge=m.Gauge(data_points=[m.NumberDataPoint(as_int=1)]))
    good_metrics = metrics_request([({"service.name": "m"}, [("s", "1", [gauge])])])
    produce(
        lake_settings,
        lake_settings.topic_logs,
        [b"\x07garbage", good_logs, b"", good_logs[: len(good_logs) // 2]],
    )
    produce(
        lake_settings,
        lake_settings.topic_metrics,
        [good_metrics.SerializeToString(), b"\xff\xff\xff", b"{}"],
    )
    ingest_now(spark, lake_settings, signals=("logs", "metrics"))

    assert sorted(r.body for r in read_table(spark, lake_settings, "logs").collect()) == [
        "ok-1",
        "ok-2",
    ]
    assert read_table(spark, lake_settings, "metrics_gauge").count() == 1
    bad = sorted(
        (r.kafka_topic == lake_settings.topic_logs, r.reason, r.item_path)
        for r in read_table(spark, lake_settings, "quarantine").collect()
    )
    assert bad == sorted(
        [
            (True, "proto_decode", ""),
            (True, "empty_record", ""),
            (True, "proto_decode", ""),
            (True, "invalid_id", "resource_logs[0].scope_logs[0].log_records[1]"),
            (False, "proto_decode", ""),
            (False, "proto_decode", ""),
        ]
    )
