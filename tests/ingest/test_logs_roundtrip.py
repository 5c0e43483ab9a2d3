"""Hand-built ExportLogsServiceRequest records -> Kafka -> ingest -> every logs column."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, SeverityNumber

from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import any_value, attrs, logs_request, nested, span_id, trace_id

T = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z

BODIES: dict[str, Any] = {
    "string": "payment failed for order 42",
    "int": 7,
    "double": 2.5,
    "bool": False,
    "bytes": b"\x01\x02",
    "array": ["a", 1],
    "kvlist": {"k": "v"},
    "nested": nested(5),
    "empty": None,
}
RENDERED = {
    "string": "payment failed for order 42",
    "int": "7",
    "bool": "false",
    "bytes": "AQI=",
    "array": '["a",1]',
    "kvlist": '{"k":"v"}',
    "nested": '{"l4":[{"l2":[{"l0":"deep"}]}]}',
    "empty": "",
}


def test_every_body_type_and_trace_context(lake_settings: Settings, spark: Any) -> None:
    tid, sid = trace_id(), span_id()
    records = [
        LogRecord(
            time_unix_nano=T + i,
            observed_time_unix_nano=T + 10 + i,
            severity_number=SeverityNumber.SEVERITY_NUMBER_ERROR,
            severity_text="ERROR",
            body=any_value(body),
            attributes=attrs({"kind": kind}),
        )
        for i, (kind, body) in enumerate(BODIES.items())
    ]
    with_context = LogRecord(
        time_unix_nano=T,
        observed_time_unix_nano=T,
        trace_id=tid,
        span_id=sid,
        flags=1,
        severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
        severity_text="INFO",
        body=any_value("in a span"),
        event_name="checkout.done",
        dropped_attributes_count=2,
        attributes=attrs({"kind": "context"}),
    )
    zero_time = LogRecord(
        time_unix_nano=0,
        observed_time_unix_nano=T + 86_400 * 10**9,
        body=any_value("observed only"),
        attributes=attrs({"kind": "zero"}),
    )
    request = logs_request(
        [
            ({"service.name": "payment"}, [("app", "2.0", [*records, with_context])]),
            ({}, [("", "", [zero_time])]),
        ]
    )
    produce(lake_settings, lake_settings.topic_logs, [request.SerializeToString()])
    ingest_now(spark, lake_settings, signals=("logs",))

    rows = {
        r.log_attributes["kind"]: r
        for r in read_table(spark, lake_settings, "logs")
        .selectExpr("*", "unix_micros(timestamp) AS micros")
        .collect()
    }
    assert len(rows) == len(BODIES) + 2
    for kind, expected in RENDERED.items():
        assert rows[kind].body == expected, kind
    assert float(rows["double"].body) == 2.5
    assert json.loads(rows["nested"].body) == {"l4": [{"l2": [{"l0": "deep"}]}]}

    err = rows["string"]
    assert (err.severity_number, err.severity_text) == (17, "ERROR")
    assert (err.trace_id, err.span_id, err.trace_flags) == ("", "", 0)
    assert err.service_name == "payment"
    assert (err.scope_name, err.scope_version) == ("app", "2.0")
    assert err.time_unix_nano == T and err.observed_time_unix_nano == T + 10
    assert err.micros == T // 1000
    assert err.date.isoformat() == "2023-11-14"
    assert err.event_name == ""

    ctx = rows["context"]
    assert (ctx.trace_id, ctx.span_id, ctx.trace_flags) == (tid.hex(), sid.hex(), 1)
    assert (ctx.event_name, ctx.dropped_attributes_count) == ("checkout.done", 2)
    assert ctx.resource_attributes == {"service.name": "payment"}

    zero = rows["zero"]
    assert zero.time_unix_nano == 0
    assert zero.micros == (T + 86_400 * 10**9) // 1000  # timestamp falls back to observed time
    assert zero.date == datetime(2023, 11, 15, tzinfo=UTC).date()
    assert zero.service_name == "unknown_service"
