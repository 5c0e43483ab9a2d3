"""Bad records and bad items: each quarantined with its reason, the good ones land."""

from __future__ import annotations

from typing import Any

from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import request, span, span_id, trace_id


def _good(n: int, tag: str) -> bytes:
    tid = trace_id()
    spans = [span(f"{tag}-{i}", tid, span_id()) for i in range(n)]
    return request([({"service.name": "svc"}, [("s", "1", spans)])]).SerializeToString()


def test_malformed_records_and_invalid_ids(lake_settings: Settings, spark: Any) -> None:
    settings = lake_settings.model_copy(update={"max_record_bytes": 4096, "max_value_bytes": 64})
    long_value = span("long", trace_id(), span_id(), attributes={"blob": "x" * 400})
    truncated = request([({}, [("s", "1", [long_value])])]).SerializeToString()
    truncated = truncated[: len(truncated) // 2]
    mixed = request(
        [
            (
                {"service.name": "svc"},
                [
                    (
                        "s",
                        "1",
                        [
                            span("ok-a", trace_id(), span_id()),
                            span("bad-trace", trace_id()[:15], span_id()),
                            span("ok-b", trace_id(), span_id()),
                            span("bad-span", trace_id(), b"\x00" * 8),
                        ],
                    )
                ],
            )
        ]
    ).SerializeToString()
    too_large = _good(100, "huge")
    assert len(too_large) > 4096

    records = [
        _good(2, "first"),
        b"\x07\x08\x09 not protobuf at all",
        b"",
        b'{"resourceSpans":[{"scopeSpans":[]}]}',
        truncated,
        mixed,
        too_large,
        _good(3, "last"),
    ]
    produce(settings, settings.topic_spans, records)
    lines = ingest_now(spark, settings)

    names = sorted(r.span_name for r in read_table(spark, settings, "spans").collect())
    assert names == ["first-0", "first-1", "last-0", "last-1", "last-2", "ok-a", "ok-b"]

    bad = read_table(spark, settings, "quarantine").orderBy("kafka_offset", "item_path").collect()
    by_reason = [(r.reason, r.item_path) for r in bad]
    assert sorted(by_reason) == sorted(
        [
            ("proto_decode", ""),  # random bytes
            ("empty_record", ""),
            ("proto_decode", ""),  # JSON on the proto topic
            ("proto_decode", ""),  # truncated
            ("invalid_id", "resource_spans[0].scope_spans[0].spans[1]"),
            ("invalid_id", "resource_spans[0].scope_spans[0].spans[3]"),
            ("too_large", ""),
        ]
    )
    for row in bad:
        assert row.kafka_topic == settings.topic_spans
        assert row.detail, row
        assert row.replayed_at is None
        assert row.ingested_at is not None
    invalid = [r for r in bad if r.reason == "invalid_id"]
    assert "trace_id" in invalid[0].detail and "15" in invalid[0].detail
    assert "span_id" in invalid[1].detail and "zero" in invalid[1].detail
    assert bytes(invalid[0].value) == mixed  # the whole record, for replay
    large = next(r for r in bad if r.reason == "too_large")
    assert large.value_size == len(too_large)
    assert bytes(large.value) == too_large[:64]
    empty = next(r for r in bad if r.reason == "empty_record")
    assert empty.value_size == 0
    assert any("7 quarantined" in line for line in lines), lines
