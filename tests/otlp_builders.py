"""Build OTLP export requests exactly as the Collector's kafka exporter writes them."""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status


def any_value(value: Any) -> AnyValue:
    """Python value -> AnyValue (str, bool, int, float, bytes, list, dict, None)."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=attrs(value)))
    raise TypeError(f"no AnyValue for {value!r}")


def attrs(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]


def nested(depth: int, leaf: Any = "deep") -> Any:
    """``depth`` levels of alternating kvlist / array around ``leaf``."""
    value = leaf
    for level in range(depth):
        value = {f"l{level}": value} if level % 2 == 0 else [value]
    return value


def trace_id() -> bytes:
    return os.urandom(16)


def span_id() -> bytes:
    return os.urandom(8)


def span(
    name: str,
    tid: bytes,
    sid: bytes,
    parent: bytes = b"",
    start: int = 1_700_000_000_000_000_000,
    duration: int = 1_000_000,
    kind: int = Span.SPAN_KIND_SERVER,
    attributes: dict[str, Any] | None = None,
    status: int = Status.STATUS_CODE_UNSET,
    **fields: Any,
) -> Span:
    return Span(
        trace_id=tid,
        span_id=sid,
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration,
        attributes=attrs(attributes or {}),
        status=Status(code=status),
        **fields,
    )


def request(
    groups: list[tuple[dict[str, Any], list[tuple[str, str, list[Span]]]]],
) -> ExportTraceServiceRequest:
    """[(resource attrs, [(scope name, scope version, spans), ...]), ...] -> one request."""
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=attrs(resource)),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name=n, version=v), spans=spans)
                    for n, v, spans in scopes
                ],
            )
            for resource, scopes in groups
        ]
    )


def logs_request(groups: list[tuple[dict[str, Any], list[tuple[str, str, list[Any]]]]]) -> Any:
    """[(resource attrs, [(scope name, version, log records), ...]), ...] -> one request."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs, ScopeLogs

    return ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=attrs(resource)),
                scope_logs=[
                    ScopeLogs(scope=InstrumentationScope(name=n, version=v), log_records=records)
                    for n, v, records in scopes
                ],
            )
            for resource, scopes in groups
        ]
    )


def metrics_request(groups: list[tuple[dict[str, Any], list[tuple[str, str, list[Any]]]]]) -> Any:
    """[(resource attrs, [(scope name, version, metrics), ...]), ...] -> one request."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.metrics.v1.metrics_pb2 import ResourceMetrics, ScopeMetrics

    return ExportMetricsServiceRequest(
        resource_metrics=[
            ResourceMetrics(
                resource=Resource(attributes=attrs(resource)),
                scope_metrics=[
                    ScopeMetrics(scope=InstrumentationScope(name=n, version=v), metrics=metrics)
                    for n, v, metrics in scopes
                ],
            )
            for resource, scopes in groups
        ]
    )


ID_FIELDS = {"traceId", "spanId", "parentSpanId"}


def to_otlp_json(message: Any) -> bytes:
    """The Collector's otlp_json form of a request: camelCase names, hex ids, enums as ints,
    64-bit integers as strings, bytes values in base64."""
    import base64
    import json

    from google.protobuf.json_format import MessageToDict

    def hex_ids(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: base64.b64decode(v).hex()
                if k in ID_FIELDS and isinstance(v, str)
                else hex_ids(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [hex_ids(v) for v in node]
        return node

    as_dict = MessageToDict(message, use_integers_for_enums=True)
    return json.dumps(hex_ids(as_dict), separators=(",", ":")).encode()
