"""Malformed and hostile telemetry: never a crash, never a silent drop."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType

from otellake import kafka_clients
from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, read_table
from tests.maintain.conftest import span_records
from tests.otlp_builders import nested, request, span, span_id, trace_id
from tests.reliability.conftest import SCALE, report

TOPIC_MAX_BYTES = 8 << 20


def _raise_topic_limit(settings: Settings) -> None:
    """Records above the broker's default 1 MB need a topic that takes them."""
    admin = kafka_clients.admin(settings)
    try:
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    settings.topic_spans,
                    configs={"max.message.bytes": str(TOPIC_MAX_BYTES)},
                )
            ]
        )
    finally:
        admin.close()


def _send(settings: Settings, values: list[bytes]) -> None:
    producer = kafka_clients.producer(
        settings, acks="all", max_request_size=TOPIC_MAX_BYTES, linger_ms=20
    )
    try:
        for value in values:
            producer.send(settings.topic_spans, value=value)
        producer.flush(timeout=120)
    finally:
        producer.close()


def test_ten_thousand_malformed_records_among_good_ones(
    lake_settings: Settings, spark: Any
) -> None:
    settings = lake_settings.model_copy(update={"max_record_bytes": 3 << 20})
    _raise_topic_limit(settings)
    rng = random.Random(7)
    good = span_records(200 * SCALE, 10, time.time_ns())
    big_good = span_records(1, 20000, time.time_ns())[0]  # > 1 MB, < max_record_bytes
    too_large = span_records(1, 60000, time.time_ns())[0]  # > max_record_bytes
    assert (1 << 20) < len(big_good) < settings.max_record_bytes < len(too_large)
    kinds = ["random", "truncated", "empty", "json"]
    bad: list[tuple[str, bytes]] = []
    for i in range(10_000 * SCALE):
        kind = kinds[i % 4]
        if kind == "random":
            value = os.urandom(rng.randrange(1, 300))
        elif kind == "truncated":
            whole = good[i % len(good)]
            value = whole[: rng.randrange(1, len(whole) - 1)]
        elif kind == "empty":
            value = b""
        else:
            value = json.dumps({"resourceSpans": [{"i": i}]}).encode()
        bad.append((kind, value))
    mixed = [v for _, v in bad]
    for n, record in enumerate(good):  # good records spread among the bad ones
        mixed.insert(n * 50, record)
    mixed[5000:5000] = [big_good, too_large]
    _send(settings, mixed)

    lines = ingest_now(spark, settings)
    spans = read_table(spark, settings, "spans")
    quarantine = read_table(spark, settings, "quarantine")
    reasons = Counter(r.reason for r in quarantine.select("reason").collect())
    # A truncated record may still parse (a cut at a field boundary is valid protobuf with
    # fewer spans): those land what they hold; every other bad record is quarantined.
    parsed_truncations = 10_000 * SCALE - sum(reasons.values()) + 1  # + the too_large one
    landed_good = spans.where("span_name LIKE 'op-%'").count()
    assert landed_good >= len(good) * 10 + 20000
    assert reasons["empty_record"] == 2500 * SCALE
    assert reasons["too_large"] == 1
    assert reasons["proto_decode"] + parsed_truncations == 7500 * SCALE
    assert parsed_truncations < 100 * SCALE
    assert spans.select("trace_id", "span_id").distinct().count() == spans.count()
    report(
        "malformed_records",
        produced_good_spans=len(good) * 10 + 20000,
        produced_bad_records=10_000 * SCALE + 1,
        landed=spans.count(),
        duplicated=spans.count() - spans.select("trace_id", "span_id").distinct().count(),
        quarantined=sum(reasons.values()),
        by_reason=dict(reasons),
        truncations_that_parsed=parsed_truncations,
        batches=len(lines),
    )


def test_hostile_telemetry(lake_settings: Settings, spark: Any) -> None:
    _raise_topic_limit(lake_settings)
    now = time.time_ns()
    one_mb = "m" * 1_000_000  # under OTELLAKE_MAX_VALUE_BYTES (1 MiB): arrives whole
    two_mib = "t" * (2 << 20)  # over it: cut, marked, counted
    wide = span(
        "wide", trace_id(), span_id(), start=now, attributes={f"k{i}": i for i in range(10_000)}
    )
    big = span(
        "big", trace_id(), span_id(), start=now, attributes={"one_mb": one_mb, "two_mib": two_mib}
    )
    deep = span("deep", trace_id(), span_id(), start=now, attributes={"deep": nested(20)})
    zero = span("zero-time", trace_id(), span_id(), start=0, duration=5)
    future = span("far-future", trace_id(), span_id(), start=now + 10 * 365 * 86_400 * 10**9)
    records = [
        request([({"service.name": "hostile"}, [("s", "1", [s])])]).SerializeToString()
        for s in (wide, big, deep, zero, future)
    ]
    # Invalid UTF-8 inside a string value: protobuf-java rejects the record; the decoder reads
    # its strings as bytes, repairs them (U+FFFD) and counts them.
    bad_utf8 = (
        request(
            [
                (
                    {"service.name": "hostile"},
                    [
                        (
                            "s",
                            "1",
                            [
                                span(
                                    "utf8",
                                    trace_id(),
                                    span_id(),
                                    start=now,
                                    attributes={"x": "PLACEHOLDER"},
                                )
                            ],
                        )
                    ],
                )
            ]
        )
        .SerializeToString()
        .replace(b"PLACEHOLDER", b"bad \xff\xfe okay")
    )
    _send(lake_settings, [*records, bad_utf8])

    lines = ingest_now(spark, lake_settings)
    rows = {r.span_name: r for r in read_table(spark, lake_settings, "spans").collect()}
    assert set(rows) == {"wide", "big", "deep", "zero-time", "far-future", "utf8"}
    assert rows["utf8"].span_attributes["x"] == "bad \ufffd\ufffd okay"
    assert any("1 strings with invalid UTF-8 repaired" in line for line in lines), lines
    assert len(rows["wide"].span_attributes) == 10_000
    assert rows["big"].span_attributes["one_mb"] == one_mb
    cut = rows["big"].span_attributes["two_mib"]
    assert cut == "t" * (1 << 20) + f"…[truncated {(2 << 20) - (1 << 20)} bytes]"
    assert any("1 values truncated" in line for line in lines), lines
    value = json.loads(rows["deep"].span_attributes["deep"])
    for level in reversed(range(20)):
        value = value[f"l{level}"] if level % 2 == 0 else value[0]
    assert value == "deep"
    today = datetime.now(UTC).date()
    assert rows["zero-time"].date == today and rows["zero-time"].start_time_unix_nano == 0
    assert rows["far-future"].date == today
    assert rows["far-future"].start_time_unix_nano == future.start_time_unix_nano
    assert read_table(spark, lake_settings, "quarantine").count() == 0
    report(
        "hostile_telemetry",
        produced_records=6,
        landed_spans=len(rows),
        duplicated=0,
        quarantined=0,
        repaired_utf8=1,
    )
