"""Malformed and hostile telemetry: never a crash, never a silent drop."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otellake import kafka_clients
from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, read_table, set_topic_config
from tests.maintain.conftest import span_records
from tests.otlp_builders import nested, request, span, span_id, trace_id
from tests.reliability.conftest import SCALE, report

TOPIC_MAX_BYTES = 8 << 20


def _raise_topic_limit(settings: Settings) -> None:
    """Records above the broker's default 1 MB need a topic that takes them."""
    set_topic_config(settings, settings.topic_spans, max_message_bytes=str(TOPIC_MAX_BYTES))


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


def _what_the_decoder_makes_of(
    values: list[bytes], max_record_bytes: int
) -> tuple[Counter[str], int]:
    """The quarantine reasons and the landed spans these records give, computed with the
    Python protobuf classes by the decoder's rules (docs/reliability.md, "Bad input"): an empty
    record, one above the size limit, one that does not parse or parses with no resource_spans
    is one quarantine row; a record that parses lands its spans with valid ids, and each span
    with an invalid id is one ``invalid_id`` row."""
    reasons: Counter[str] = Counter()
    spans = 0
    for value in values:
        if not value:
            reasons["empty_record"] += 1
            continue
        if len(value) > max_record_bytes:
            reasons["too_large"] += 1
            continue
        try:
            parsed = ExportTraceServiceRequest.FromString(value)
        except DecodeError:
            reasons["proto_decode"] += 1
            continue
        if not parsed.resource_spans:
            reasons["proto_decode"] += 1
            continue
        for rs in parsed.resource_spans:
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    valid = [
                        len(i) == n and any(i) for i, n in ((sp.trace_id, 16), (sp.span_id, 8))
                    ]
                    if all(valid):
                        spans += 1
                    else:
                        reasons["invalid_id"] += 1
    return reasons, spans


def test_ten_thousand_malformed_records_among_good_ones(
    lake_settings: Settings, spark: Any
) -> None:
    settings = lake_settings.model_copy(update={"max_record_bytes": 3 << 20})
    _raise_topic_limit(settings)
    rng = random.Random(7)  # the bad records are the same at every run
    good = span_records(200 * SCALE, 10, time.time_ns())
    big_good = span_records(1, 20000, time.time_ns())[0]  # > 1 MB, < max_record_bytes
    too_large = span_records(1, 60000, time.time_ns())[0]  # > max_record_bytes
    assert (1 << 20) < len(big_good) < settings.max_record_bytes < len(too_large)
    kinds = ["random", "truncated", "empty", "json"]
    bad: list[tuple[str, bytes]] = []
    for i in range(10_000 * SCALE):
        kind = kinds[i % 4]
        if kind == "random":
            value = rng.randbytes(rng.randrange(1, 300))
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
    good_spans = len(good) * 10 + 20000
    expected_reasons, spans_in_bad = _what_the_decoder_makes_of(
        [v for _, v in bad] + [too_large], settings.max_record_bytes
    )

    lines = ingest_now(spark, settings)
    spans = read_table(spark, settings, "spans")
    quarantine = read_table(spark, settings, "quarantine")
    reasons = Counter(r.reason for r in quarantine.select("reason").collect())
    assert reasons == expected_reasons
    assert spans.where("span_name LIKE 'op-%'").count() == good_spans
    assert spans.count() == good_spans + spans_in_bad
    assert spans.select("trace_id", "span_id").distinct().count() == spans.count()
    report(
        "malformed_records",
        produced_good_spans=good_spans,
        produced_bad_records=10_000 * SCALE + 1,
        landed=spans.count(),
        duplicated=spans.count() - spans.select("trace_id", "span_id").distinct().count(),
        quarantined=sum(reasons.values()),
        by_reason=dict(reasons),
        spans_in_bad_records=spans_in_bad,
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

    day_before = datetime.now(UTC).date()
    lines = ingest_now(spark, lake_settings)
    day_after = datetime.now(UTC).date()
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
    # dated by the ingest day (one batch, one day; either side of a midnight during the run)
    assert rows["zero-time"].date == rows["far-future"].date
    assert rows["zero-time"].date in {day_before, day_after}
    assert rows["zero-time"].start_time_unix_nano == 0
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
