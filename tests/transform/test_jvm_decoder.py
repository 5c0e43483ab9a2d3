"""The JVM traces decoder on its own (no broker): rendering rules, limits, hygiene."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from otellake import jvm_decoders
from otellake.settings import Settings
from tests.otlp_builders import nested, request, span, span_id, trace_id


def _decode(spark: Any, settings: Settings, records: list[bytes]) -> list[Any]:
    name = jvm_decoders.register(spark, settings, "traces")
    df = spark.createDataFrame([(r,) for r in records], "value BINARY")
    return [row.d for row in df.selectExpr(f"{name}(value) AS d").collect()]


def _one_span(attributes: dict[str, Any]) -> bytes:
    s = span("s", trace_id(), span_id(), attributes=attributes)
    return request([({"service.name": "x"}, [("sc", "1", [s])])]).SerializeToString()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, max_value_bytes=64, attr_drop="secret", attr_hash="user.email")  # type: ignore[arg-type]


def test_truncation_at_a_utf8_boundary_is_counted(spark: Any, settings: Settings) -> None:
    value = "é" * 40  # 80 bytes; 64 is a character boundary, 63 is not
    odd = "a" + "é" * 40  # 81 bytes; byte 64 falls inside an é
    (d,) = _decode(spark, settings, [_one_span({"even": value, "odd": odd, "ok": "short"})])
    attrs = d.spans[0].span_attributes
    assert attrs["even"] == "é" * 32 + "…[truncated 16 bytes]"
    assert attrs["odd"] == "a" + "é" * 31 + "…[truncated 18 bytes]"
    assert attrs["ok"] == "short"
    assert d.truncated_values == 2


def test_drop_and_hash_keys(spark: Any, settings: Settings) -> None:
    (d,) = _decode(spark, settings, [_one_span({"secret": "pw", "user.email": "a@b.c", "keep": 1})])
    attrs = d.spans[0].span_attributes
    assert "secret" not in attrs
    assert attrs["user.email"] == hashlib.sha256(b"a@b.c").hexdigest()
    assert attrs["keep"] == "1"


def test_twenty_levels_of_nesting_arrive_whole(spark: Any, tmp_path: Path) -> None:
    deep = nested(20, leaf=[1.5, float("nan"), None])
    (d,) = _decode(spark, Settings(home=tmp_path), [_one_span({"deep": deep})])
    rendered = d.spans[0].span_attributes["deep"]
    parsed = json.loads(rendered)
    for level in reversed(range(20)):
        parsed = parsed[f"l{level}"] if level % 2 == 0 else parsed[0]
    assert parsed == [1.5, "NaN", None]


def test_record_errors(spark: Any, tmp_path: Path) -> None:
    decoded = _decode(spark, Settings(home=tmp_path), [b"", b"\x07\x08garbage", _one_span({})])
    assert [(d.error_reason, len(d.spans)) for d in decoded] == [
        ("empty_record", 0),
        ("proto_decode", 0),
        (None, 1),
    ]
    assert decoded[1].error_detail


def test_kinds_and_status_codes_render_as_otlp_values_says(spark: Any, settings: Settings) -> None:
    """The decoder's names for every span kind and status code equal ``otlp_values``' (read
    from the proto descriptors), by enum number."""
    from otellake.otlp_values import SPAN_KINDS, STATUS_CODES

    tid = trace_id()
    spans = [
        span(f"k{kind}-s{code}", tid, span_id(), kind=kind, status=code)
        for kind in range(len(SPAN_KINDS))
        for code in range(len(STATUS_CODES))
    ]
    (d,) = _decode(
        spark,
        settings,
        [request([({"service.name": "x"}, [("sc", "1", spans)])]).SerializeToString()],
    )
    rendered = {s.span_name: (s.span_kind, s.status_code) for s in d.spans}
    assert rendered == {
        f"k{kind}-s{code}": (SPAN_KINDS[kind], STATUS_CODES[code])
        for kind in range(len(SPAN_KINDS))
        for code in range(len(STATUS_CODES))
    }
