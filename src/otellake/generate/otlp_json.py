"""Simulated spans and logs -> OTLP/JSON export requests, as the kafka exporter's ``otlp_json``.

The protobuf JSON mapping with OTLP's exceptions: lowerCamelCase names, trace and span ids
as hex, 64-bit integers as decimal strings, enums as integers, default values left out.
Spans and logs are rendered from pre-rendered template pieces; metrics go through
``to_otlp_json``, which turns any OTLP message into the same mapping.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from otellake.generate.otlp_proto import grouped, log_scope, resource_of, span_scope
from otellake.generate.shop import CONSUMER, SERVER, Scope, Shop
from otellake.generate.simulate import SEVERITY_TEXT, SimLog, SimSpan

ID_FIELDS = {"traceId", "spanId", "parentSpanId"}
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def to_otlp_json(message: Message) -> dict[str, Any]:
    """Any OTLP message as an OTLP/JSON object (ids in hex)."""
    return _hex_ids(
        MessageToDict(message, preserving_proto_field_name=False, use_integers_for_enums=True)
    )


def _hex_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: base64.b64decode(v).hex() if k in ID_FIELDS else _hex_ids(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


def any_value(value: Any) -> str:
    if isinstance(value, bool):
        return '{"boolValue":' + ("true" if value else "false") + "}"
    if isinstance(value, int):
        return '{"intValue":"' + str(value) + '"}'
    if isinstance(value, float):
        return '{"doubleValue":' + repr(value) + "}"
    return '{"stringValue":' + _dumps(str(value)) + "}"


def key_value(key: str, value: Any) -> str:
    return '{"key":' + _dumps(key) + ',"value":' + any_value(value) + "}"


def _scope(scope: Scope) -> str:
    fields = {"name": scope.name} | ({"version": scope.version} if scope.version else {})
    return '"scope":' + _dumps(fields)


class JsonEncoder:
    """``otlp_json``: the same requests as ``ProtoEncoder``, as UTF-8 JSON."""

    encoding = "otlp_json"

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self._resource = [
            '"resource":{"attributes":[' + ",".join(key_value(k, v) for k, v in r.attributes) + "]}"
            for r in shop.resources
        ]
        self._scope = {s.index: _scope(s) for s in shop.scopes}
        self._head = [
            ',"name":' + _dumps(op.name) + ',"kind":' + str(op.kind) for op in shop.operations
        ]
        self._attrs = [[key_value(k, v) for k, v in op.attributes] for op in shop.operations]
        self._remote = [op.kind in (SERVER, CONSUMER) for op in shop.operations]
        self._kv: dict[tuple[str, Any], str] = {}

    def _key_value(self, key: str, value: Any) -> str:
        encoded = self._kv.get((key, value))
        if encoded is None:
            encoded = self._kv[(key, value)] = key_value(key, value)
        return encoded

    # ---- traces ---------------------------------------------------------------------------

    def span(self, s: SimSpan) -> str:
        op = s.op
        parts = ['{"traceId":"', s.trace_id.hex(), '","spanId":"', s.span_id.hex(), '"']
        if s.parent_id:
            parts.append(',"parentSpanId":"')
            parts.append(s.parent_id.hex())
            parts.append('"')
        remote = s.parent_id and self._remote[op.index]
        parts.append(',"flags":768' if remote else ',"flags":256')
        parts.append(self._head[op.index])
        parts.append(f',"startTimeUnixNano":"{s.start}","endTimeUnixNano":"{s.end}"')
        attrs = list(self._attrs[op.index])
        for key, value in s.extra:
            attrs.append(self._key_value(key, value))
        if s.code is not None and op.status_key is not None:
            attrs.append(self._key_value(op.status_key, s.code))
        parts.append(',"attributes":[' + ",".join(attrs) + "]")
        if s.exception is not None:
            exc_type, message, stack, at = s.exception
            parts.append(
                f',"events":[{{"timeUnixNano":"{at}","name":"exception","attributes":['
                + key_value("exception.type", exc_type)
                + ","
                + key_value("exception.message", message)
                + ","
                + key_value("exception.stacktrace", stack)
                + "]}]"
            )
        if s.status:
            message_part = '"message":' + _dumps(s.message) + "," if s.message else ""
            parts.append(',"status":{' + message_part + '"code":' + str(s.status) + "}")
        parts.append("}")
        return "".join(parts)

    def traces(self, spans: list[SimSpan]) -> bytes:
        resources = []
        for resource, scopes in grouped(spans, resource_of, span_scope):
            scope_parts = [
                "{" + self._scope[scope] + ',"spans":[' + ",".join(map(self.span, items)) + "]}"
                for scope, items in scopes
            ]
            resources.append(
                "{" + self._resource[resource] + ',"scopeSpans":[' + ",".join(scope_parts) + "]}"
            )
        return ('{"resourceSpans":[' + ",".join(resources) + "]}").encode()

    # ---- logs -----------------------------------------------------------------------------

    def log(self, r: SimLog) -> str:
        parts = [
            f'{{"timeUnixNano":"{r.time}","observedTimeUnixNano":"{r.observed}",'
            f'"severityNumber":{r.severity},"severityText":"{SEVERITY_TEXT[r.severity]}",'
            '"body":{"stringValue":',
            _dumps(r.body),
            "}",
        ]
        if r.attributes:
            parts.append(
                ',"attributes":[' + ",".join(self._key_value(k, v) for k, v in r.attributes) + "]"
            )
        if r.trace_id:
            parts.append(f',"flags":1,"traceId":"{r.trace_id.hex()}","spanId":"{r.span_id.hex()}"')
        parts.append("}")
        return "".join(parts)

    def logs(self, logs: list[SimLog]) -> bytes:
        resources = []
        for resource, scopes in grouped(logs, resource_of, log_scope):
            scope_parts = [
                "{" + self._scope[scope] + ',"logRecords":[' + ",".join(map(self.log, items)) + "]}"
                for scope, items in scopes
            ]
            resources.append(
                "{" + self._resource[resource] + ',"scopeLogs":[' + ",".join(scope_parts) + "]}"
            )
        return ('{"resourceLogs":[' + ",".join(resources) + "]}").encode()

    # ---- metrics --------------------------------------------------------------------------

    def metrics(self, request: Message) -> bytes:
        return _dumps(to_otlp_json(request)).encode()
