"""The JVM traces decoder on its own (no broker): rendering rules, limits, hygiene."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from otellake import jvm_decoders, schemas
from otellake.settings import Settings
from tests.otlp_builders import (
    any_value,
    nested,
    request,
    span,
    span_id,
    to_otlp_json,
    trace_id,
)


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


# Dedicated attribute columns (schemas/tables/spans.json: dedicated_attributes): the decoder
# puts these keys' values in span columns of their own instead of in their maps.


def _dedicated(signal_map: str) -> dict[str, str]:
    """key -> column of the spans table's dedicated attributes of one map."""
    return {
        d.key: d.column for d in schemas.table("spans").dedicated_attributes if d.map == signal_map
    }


def test_dedicated_attributes_go_to_their_columns_not_the_maps(spark: Any, tmp_path: Path) -> None:
    tid = trace_id()
    http = span(
        "http",
        tid,
        span_id(),
        attributes={"http.route": "/a/{id}", "http.request.method": "GET", "other": "x"},
    )
    rpc = span("rpc", tid, span_id(), attributes={"rpc.system": "grpc"})
    resource = {"service.name": "svc", "host.name": "h1", "k8s.namespace.name": "ns"}
    other_resource = {"service.name": "svc2", "deployment.environment.name": "prod"}
    record = request(
        [(resource, [("sc", "1", [http, rpc])]), (other_resource, [("sc", "1", [rpc])])]
    ).SerializeToString()
    (d,) = _decode(spark, Settings(home=tmp_path), [record])
    a, b, c = d.spans

    # every dedicated column, in the schema file's order, right after span_attributes
    fields = list(a.__fields__)
    at = fields.index("span_attributes") + 1
    columns = [x.column for x in schemas.table("spans").dedicated_attributes]
    assert fields[at : at + len(columns)] == columns

    assert (a.http_route, a.http_request_method, a.rpc_system) == ("/a/{id}", "GET", None)
    assert a.span_attributes == {"other": "x"}
    assert (b.rpc_system, b.http_route) == ("grpc", None)
    assert b.span_attributes == {}
    # resource columns: on every span of the resource, and not in resource_attributes
    for s in (a, b):
        assert (s.host_name, s.k8s_namespace_name, s.deployment_environment_name) == (
            "h1",
            "ns",
            None,
        )
        assert s.resource_attributes == {"service.name": "svc"}
    assert (c.host_name, c.deployment_environment_name, c.rpc_system) == (None, "prod", "grpc")
    assert c.resource_attributes == {"service.name": "svc2"}
    # no dedicated key is left in a map
    for s in (a, b, c):
        assert not set(s.span_attributes) & set(_dedicated("span_attributes"))
        assert not set(s.resource_attributes) & set(_dedicated("resource_attributes"))


def test_integer_column_takes_only_canonical_32_bit_ints(spark: Any, tmp_path: Path) -> None:
    key = "http.response.status_code"
    assert schemas.column_type("spans", _dedicated("span_attributes")[key]) == "integer"
    tid = trace_id()
    values: list[Any] = [503, "503", "5xx", "0503", "-0", "+503", 2**31, -(2**31), 1.5, True]
    spans = [span(f"s{i}", tid, span_id(), attributes={key: v}) for i, v in enumerate(values)]
    # duplicate keys: the last one wins, whether it fits the column or not
    last_fits = span("last_fits", tid, span_id(), attributes={key: "5xx"})
    last_fits.attributes.append(KeyValue(key=key, value=any_value(404)))
    last_does_not = span("last_does_not", tid, span_id(), attributes={key: 404})
    last_does_not.attributes.append(KeyValue(key=key, value=any_value("4xx")))
    record = request(
        [({"service.name": "x"}, [("sc", "1", [*spans, last_fits, last_does_not])])]
    ).SerializeToString()
    (d,) = _decode(spark, Settings(home=tmp_path), [record])
    got = {s.span_name: (s.http_response_status_code, s.span_attributes.get(key)) for s in d.spans}
    assert got == {
        "s0": (503, None),
        "s1": (503, None),
        "s2": (None, "5xx"),
        "s3": (None, "0503"),
        "s4": (None, "-0"),
        "s5": (None, "+503"),
        "s6": (None, "2147483648"),
        "s7": (-(2**31), None),
        "s8": (None, "1.5"),
        "s9": (None, "true"),
        "last_fits": (404, None),
        "last_does_not": (None, "4xx"),
    }


def test_drop_hash_and_truncation_apply_to_dedicated_columns(spark: Any, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        max_value_bytes=64,
        attr_drop="http.route,k8s.namespace.name",
        attr_hash="url.path,host.name,http.response.status_code",
    )
    attributes = {
        "http.route": "/a",
        "url.path": "/a/1",
        "http.response.status_code": 503,
        "server.address": "h" * 70 + ".example",  # 78 bytes: truncated to 64
        "http.request.method": "GET",
    }
    resource = {"service.name": "x", "host.name": "h1", "k8s.namespace.name": "ns"}
    s = span("s", trace_id(), span_id(), attributes=attributes)
    record = request([(resource, [("sc", "1", [s])])]).SerializeToString()
    (d,) = _decode(spark, settings, [record])
    (row,) = d.spans

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    # dropped: nowhere
    assert row.http_route is None and "http.route" not in row.span_attributes
    assert row.k8s_namespace_name is None and "k8s.namespace.name" not in row.resource_attributes
    # hashed: the column holds the hash (an INTEGER column cannot: the hash stays in the map)
    assert row.url_path == sha("/a/1")
    assert row.host_name == sha("h1")
    assert row.http_response_status_code is None
    assert row.span_attributes == {"http.response.status_code": sha("503")}
    assert row.resource_attributes == {"service.name": "x"}
    # truncated as a map value, and counted
    assert row.server_address == "h" * 64 + "…[truncated 14 bytes]"
    assert row.http_request_method == "GET"
    assert d.truncated_values == 1


def test_otlp_json_and_keeping_give_the_proto_rows_with_dedicated_columns(
    spark: Any, tmp_path: Path
) -> None:
    tid = trace_id()
    spans = [
        span(
            "a",
            tid,
            span_id(),
            attributes={"http.response.status_code": 200, "http.route": "/r", "x": [1, "y"]},
        ),
        span(
            "b",
            tid,
            span_id(),
            attributes={"http.response.status_code": "0200", "db.system.name": "pg"},
        ),
    ]
    message = request(
        [
            (
                {"service.name": "x", "host.name": "h", "deployment.environment.name": "p"},
                [("sc", "1", spans)],
            )
        ]
    )
    proto = Settings(home=tmp_path)
    (from_proto,) = _decode(spark, proto, [message.SerializeToString()])
    (from_json,) = _decode(
        spark,
        Settings(home=tmp_path, encoding="otlp_json"),
        [to_otlp_json(message)],
    )
    assert from_proto.error_reason is None and len(from_proto.spans) == 2
    assert from_proto.spans[1].span_attributes["http.response.status_code"] == "0200"
    assert from_proto.spans[0].http_response_status_code == 200
    assert from_json.asDict(recursive=True) == from_proto.asDict(recursive=True)

    # the dedup's decoder keeping only the second span gives that span's row
    jvm_decoders.register(spark, proto, "traces")
    df = spark.createDataFrame([(message.SerializeToString(),)], "value BINARY")
    (kept,) = [
        r.d for r in df.selectExpr(f"{jvm_decoders.KEEPING_UDF}(value, array(1), 2) AS d").collect()
    ]
    assert [s.asDict(recursive=True) for s in kept.spans] == [
        from_proto.spans[1].asDict(recursive=True)
    ]


def _json_span_record(extra_top: str = "", extra_span: str = "") -> bytes:
    """A one-span OTLP/JSON record, with raw JSON text spliced into the top level and the
    span (unknown fields: the transcoder skips their values)."""
    span_json = (
        '{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",'
        ' "name": "s", "kind": 2' + extra_span + "}"
    )
    scope = '{"scope": {"name": "sc"}, "spans": [' + span_json + "]}"
    resource = '{"resource": {"attributes": []}, "scopeSpans": [' + scope + "]}"
    return ('{"resourceSpans": [' + resource + "]" + extra_top + "}").encode()


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        (_json_span_record(extra_span=', "x": {"a": [1, {"b": []}, "c"], "d": {}}'), None),
        (_json_span_record(extra_top=', "unknown": [[], [[]], {"k": null}]'), None),
        (_json_span_record(extra_span=', "x": {"a": 1 "b": 2}'), "expected ',' or '}'"),
        (_json_span_record(extra_span=', "x": [1, 2'), "expected ',' or ']'"),
        (_json_span_record(extra_span=', "x": [1,]'), "offset"),
        (_json_span_record(extra_span=', "x": {1: 2}'), "expected a field name"),
        (b'{"resourceSpans": [] ', "unexpected end of input"),
        (b'{"resourceSpans": [{} {}]}', "expected ',' or ']'"),
        (_json_span_record(extra_span=', "x": ' + "[" * 300 + "]" * 300), "nesting deeper"),
    ],
    ids=[
        "skipped-nested-object",
        "skipped-nested-arrays",
        "object-missing-comma",
        "unclosed-array",
        "trailing-comma",
        "non-string-key",
        "unclosed-top-object",
        "array-missing-comma",
        "too-deep",
    ],
)
def test_otlp_json_containers_are_read_or_refused_by_name(
    spark: Any, tmp_path: Path, record: bytes, detail: str | None
) -> None:
    """Every object and array path of the JSON transcoder (fields it knows, values of fields
    it skips): a well-formed record decodes to its span, a malformed one fails as json_decode
    naming what was expected."""
    if detail is None:
        json.loads(record)  # the good ones are valid JSON
    (d,) = _decode(spark, Settings(home=tmp_path, encoding="otlp_json"), [record])
    if detail is None:
        assert d.error_reason is None
        assert [(s.span_name, s.span_id, s.span_kind) for s in d.spans] == [
            ("s", "b7ad6b7169203331", "SERVER")
        ]
    else:
        assert d.error_reason == "json_decode"
        assert detail in d.error_detail
        assert len(d.spans) == 0


@pytest.mark.parametrize(
    ("name_json", "expected"),
    [
        (r'"a\"b\\c\/d"', 'a"b\\c/d'),
        (r'"\b\f\n\r\t"', "\b\f\n\r\t"),
        (r'"caf\u00e9 \u263a"', "café ☺"),
        (r'"plain"', "plain"),
        (r'"bad \x"', None),
        (r'"short \u12"', None),
        (r'"not hex \u12g4"', None),
    ],
    ids=["quote-backslash-slash", "controls", "unicode", "plain", "bad", "short-u", "bad-u"],
)
def test_otlp_json_string_escapes(
    spark: Any, tmp_path: Path, name_json: str, expected: str | None
) -> None:
    """A span name's JSON escapes arrive decoded; an unknown or short escape fails the record."""
    record = _json_span_record(extra_span=", " + '"name": ' + name_json)
    (d,) = _decode(spark, Settings(home=tmp_path, encoding="otlp_json"), [record])
    if expected is None:
        assert d.error_reason == "json_decode"
        assert "escape" in d.error_detail or "unterminated" in d.error_detail
    else:
        assert d.error_reason is None
        assert [s.span_name for s in d.spans] == [expected]
