"""The dedup's key scan (``otlp_span_keys``; grouped by trace: ``otlp_span_keys_by_trace``)
and the decoder that keeps only the spans the dedup let through
(``otlp_decode_traces_keeping``), on their own (no broker).

The scan reads the wire without building messages, so these tests hold it to the decoder:
same spans, same order, same validity rule, for protobuf and OTLP/JSON records alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otellake import jvm_decoders
from otellake.settings import Settings
from tests.otlp_builders import request, span, span_id, to_otlp_json, trace_id


def _key(tid: bytes, sid: bytes, start: int) -> bytes:
    return tid + sid + start.to_bytes(8, "big")


def _keys(spark: Any, settings: Settings, records: list[bytes | None]) -> list[list[bytes] | None]:
    jvm_decoders.register(spark, settings, "traces")
    df = spark.createDataFrame([(r,) for r in records], "value BINARY")
    rows = df.selectExpr(f"{jvm_decoders.SPAN_KEYS_UDF}(value) AS k").collect()
    return [None if r.k is None else [bytes(b) for b in r.k] for r in rows]


def _kept_names(
    spark: Any, settings: Settings, record: bytes, kept: list[int] | None, n: int
) -> list[str]:
    jvm_decoders.register(spark, settings, "traces")
    df = spark.createDataFrame([(record, kept, n)], "value BINARY, kept ARRAY<INT>, n INT")
    (row,) = df.selectExpr(f"{jvm_decoders.KEEPING_UDF}(value, kept, n) AS d").collect()
    return [s.span_name for s in row.d.spans]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


def _mixed() -> tuple[Any, list[bytes]]:
    """Two resources, three scopes, five spans of which two have invalid ids."""
    t1, t2 = trace_id(), trace_id()
    good = [
        span("a", t1, span_id(), start=5),
        span("b", t1, span_id(), start=2**63 + 7),  # an unsigned start above 2^63
        span("c", t2, span_id(), start=0),
    ]
    bad = [span("short", t1, b"\x01" * 7), span("zero", b"\x00" * 16, span_id())]
    req = request(
        [
            ({"service.name": "x"}, [("s1", "1", [good[0], bad[0]]), ("s2", "", [good[1]])]),
            ({"service.name": "y"}, [("s3", "", [bad[1], good[2]])]),
        ]
    )
    keys = [_key(s.trace_id, s.span_id, s.start_time_unix_nano) for s in good]
    return req, keys


def test_keys_are_the_valid_spans_in_decoder_order(spark: Any, settings: Settings) -> None:
    req, expected = _mixed()
    assert _keys(spark, settings, [req.SerializeToString()]) == [expected]
    # the decoder emits exactly these spans, in this order
    names = _kept_names(spark, settings, req.SerializeToString(), None, 3)
    assert names == ["a", "b", "c"]


def test_keys_grouped_by_trace_keep_ordinals_and_order(spark: Any, settings: Settings) -> None:
    req, keys = _mixed()  # spans a and b in trace 1, then c in trace 2
    # a trace that comes back after another one joins its first group
    extra = span("d", keys[0][:16], span_id(), start=9)
    req.resource_spans[1].scope_spans[0].spans.append(extra)
    keys.append(_key(extra.trace_id, extra.span_id, extra.start_time_unix_nano))
    jvm_decoders.register(spark, settings, "traces")
    df = spark.createDataFrame([(req.SerializeToString(),), (b"\x0a\xff\xff",)], "value BINARY")
    rows = df.selectExpr(f"{jvm_decoders.TRACE_KEYS_UDF}(value) AS g").collect()
    groups = [(bytes(g.trace), list(g.idx), bytes(g.spans)) for g in rows[0].g]
    assert groups == [
        (keys[0][:16], [0, 1, 3], keys[0][16:] + keys[1][16:] + keys[3][16:]),
        (keys[2][:16], [2], keys[2][16:]),
    ]
    assert rows[1].g is None  # unreadable: no keys, the record is kept whole


def test_json_records_give_the_same_keys(spark: Any, tmp_path: Path) -> None:
    req, expected = _mixed()
    json_settings = Settings(home=tmp_path, encoding="otlp_json")
    assert _keys(spark, json_settings, [to_otlp_json(req)]) == [expected]


def test_unreadable_records_have_no_keys(spark: Any, settings: Settings) -> None:
    req, _ = _mixed()
    whole = req.SerializeToString()
    assert _keys(spark, settings, [None, b"", whole[: len(whole) // 2], b"\x0a\xff\xff"]) == [
        None,
        None,
        None,
        None,
    ]


def test_the_decoder_keeps_the_spans_named(spark: Any, settings: Settings) -> None:
    req, _ = _mixed()
    record = req.SerializeToString()
    assert _kept_names(spark, settings, record, [0, 2], 3) == ["a", "c"]
    assert _kept_names(spark, settings, record, [], 3) == []
    # the dedup saw another number of spans: the ordinals cannot be trusted, all spans land
    assert _kept_names(spark, settings, record, [0], 4) == ["a", "b", "c"]


def test_rejects_are_kept_whatever_the_dedup_kept(spark: Any, settings: Settings) -> None:
    req, _ = _mixed()
    jvm_decoders.register(spark, settings, "traces")
    df = spark.createDataFrame([(req.SerializeToString(), [], 3)], "v BINARY, k ARRAY<INT>, n INT")
    (row,) = df.selectExpr(f"{jvm_decoders.KEEPING_UDF}(v, k, n) AS d").collect()
    assert [r.reason for r in row.d.rejects] == ["invalid_id", "invalid_id"]
    assert row.d.spans == []
