"""Records built as the kafka exporter builds them -> Kafka -> ingest -> every spans column."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from pyspark.sql import functions as F

from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import attrs, nested, request, span, span_id, trace_id

START = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z

ATTRIBUTES: dict[str, Any] = {
    "str": 'héllo "q"',
    "b": True,
    "i": -42,
    "d": 0.1,
    "big": 1e20,
    "nan": float("nan"),
    "inf": float("-inf"),
    "bytes": b"\x00\xff",
    "arr": [1, "a", 2.5, True, None, b"\x01"],
    "kv": {"k": "v", "n": 3},
    "deep": nested(5),
    "empty": None,
    # dedicated keys (schemas/tables/spans.json): each in its own column, not in the map
    "http.route": "/checkout",
    "http.response.status_code": 200,
    "server.address": "shop",
}
EXPECTED = {
    "str": 'héllo "q"',
    "b": "true",
    "i": "-42",
    "bytes": "AP8=",
    "arr": '[1,"a",2.5,true,null,"AQ=="]',
    "kv": '{"k":"v","n":3}',
    "deep": '{"l4":[{"l2":[{"l0":"deep"}]}]}',
    "empty": "",
    "dup": "second",
}


def _build() -> tuple[bytes, dict[str, bytes]]:
    tid, root, child, db, linked = trace_id(), span_id(), span_id(), span_id(), trace_id()
    root_span = span(
        "GET /checkout", tid, root, start=START, duration=5_000_000, attributes=ATTRIBUTES
    )
    root_span.attributes.extend(
        [
            KeyValue(key="dup", value=AnyValue(string_value="first")),
            KeyValue(key="dup", value=AnyValue(string_value="second")),
        ]
    )
    child_span = span(
        "charge",
        tid,
        child,
        parent=root,
        start=START + 1000,
        duration=2_000_000,
        kind=Span.SPAN_KIND_CLIENT,
        status=Status.STATUS_CODE_ERROR,
        trace_state="vendor=a",
        flags=0x301,
        dropped_attributes_count=3,
        dropped_events_count=4,
        dropped_links_count=5,
        events=[
            Span.Event(
                time_unix_nano=START + 1500,
                name="exception",
                attributes=attrs({"exception.type": "ValueError"}),
            )
        ],
        links=[
            Span.Link(
                trace_id=linked,
                span_id=db,
                trace_state="k=v",
                attributes=attrs({"link.kind": "follows"}),
            )
        ],
    )
    child_span.status.message = "card declined"
    db_span = span(
        "SELECT", tid, db, parent=child, start=START + 2000, kind=Span.SPAN_KIND_INTERNAL
    )
    now_ns = time.time_ns()
    zero = span("zero-time", trace_id(), span_id(), start=0, duration=0)
    future = span("future", trace_id(), span_id(), start=now_ns + 10 * 86_400 * 10**9)
    record = request(
        [
            (
                {"service.name": "checkout", "host.name": "h1"},
                [("io.app", "1.2.3", [root_span, child_span]), ("io.db", "", [db_span])],
            ),
            ({"host.name": "h2"}, [("", "", [zero, future])]),
        ]
    )
    ids = {"trace": tid, "root": root, "child": child, "db": db, "linked": linked}
    return record.SerializeToString(), ids


def test_every_column_round_trips(lake_settings: Settings, spark: Any) -> None:
    value, ids = _build()
    produce(lake_settings, lake_settings.topic_spans, [value])
    ingest_now(spark, lake_settings)
    today = datetime.now(UTC).date()

    spans = read_table(spark, lake_settings, "spans")
    rows = {
        r.span_name: r
        for r in spans.withColumn("start_micros", F.unix_micros("start_time")).collect()
    }
    assert sorted(rows) == ["GET /checkout", "SELECT", "charge", "future", "zero-time"]

    root = rows["GET /checkout"]
    assert root.trace_id == ids["trace"].hex()
    assert root.span_id == ids["root"].hex()
    assert root.parent_span_id == ""
    assert root.trace_state == ""
    assert root.flags == 0
    assert root.service_name == "checkout"
    assert root.span_kind == "SERVER"
    assert root.start_time_unix_nano == START
    assert root.start_micros == START // 1000
    assert root.end_time_unix_nano == START + 5_000_000
    assert root.duration_ns == 5_000_000
    assert root.status_code == "UNSET"
    assert root.status_message == ""
    assert root.resource_attributes == {"service.name": "checkout"}
    assert root.host_name == "h1"
    assert (root.http_route, root.http_response_status_code, root.server_address) == (
        "/checkout",
        200,
        "shop",
    )
    assert not {"http.route", "http.response.status_code", "server.address"} & set(
        root.span_attributes
    )
    assert rows["charge"].http_route is None
    assert (root.scope_name, root.scope_version) == ("io.app", "1.2.3")
    assert root.events == [] and root.links == []
    assert root.date.isoformat() == "2023-11-14"
    got = root.span_attributes
    for key, expected in EXPECTED.items():
        assert got[key] == expected, key
    assert float(got["d"]) == 0.1 and float(got["big"]) == 1e20
    assert got["nan"] == "NaN" and got["inf"] == "-Infinity"
    assert json.loads(got["arr"]) == [1, "a", 2.5, True, None, base64.b64encode(b"\x01").decode()]

    child = rows["charge"]
    assert child.parent_span_id == ids["root"].hex()
    assert (child.span_kind, child.status_code, child.status_message) == (
        "CLIENT",
        "ERROR",
        "card declined",
    )
    assert (child.trace_state, child.flags) == ("vendor=a", 0x301)
    assert (
        child.dropped_attributes_count,
        child.dropped_events_count,
        child.dropped_links_count,
    ) == (3, 4, 5)
    assert [(e.time_unix_nano, e.name, e.attributes) for e in child.events] == [
        (START + 1500, "exception", {"exception.type": "ValueError"})
    ]
    assert [(lk.trace_id, lk.span_id, lk.trace_state, lk.attributes) for lk in child.links] == [
        (ids["linked"].hex(), ids["db"].hex(), "k=v", {"link.kind": "follows"})
    ]

    db = rows["SELECT"]
    assert (db.scope_name, db.scope_version, db.span_kind) == ("io.db", "", "INTERNAL")

    # No service.name -> unknown_service; time 0 and far future -> dated on the ingest day.
    for name in ("zero-time", "future"):
        assert rows[name].service_name == "unknown_service"
        assert rows[name].date == today
    assert rows["zero-time"].start_time_unix_nano == 0

    index = {r.trace_id: r for r in read_table(spark, lake_settings, "trace_index").collect()}
    entry = index[ids["trace"].hex()]
    assert (entry.span_count, entry.root_service_name, entry.root_span_name) == (
        3,
        "checkout",
        "GET /checkout",
    )
    assert entry.start_time_unix_nano_min == START
    assert entry.end_time_unix_nano_max == START + 5_000_000
    assert entry.date.isoformat() == "2023-11-14"
    assert len(index) == 3


def test_tables_match_their_golden_schemas(lake_settings: Settings, spark: Any) -> None:
    from otellake import schemas

    value, _ = _build()
    produce(lake_settings, lake_settings.topic_spans, [value])
    ingest_now(spark, lake_settings, signals=("traces", "logs", "metrics"))
    ingested = [t for t in schemas.table_names() if t != "anomalies"]  # not written by ingest
    assert len(ingested) == 9
    for table in ingested:
        written = read_table(spark, lake_settings, table).schema
        assert json.loads(written.json()) == schemas.table(table).schema_json, table
