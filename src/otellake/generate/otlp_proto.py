"""Simulated spans and logs -> OTLP export requests in protobuf, as the kafka exporter writes.

One request holds several ``Resource*`` (one per service instance) and, in each, several
scopes, in resource then scope order. Spans and log records are encoded from pre-encoded
template pieces (see ``wire.py``); metrics, far fewer, are protobuf messages already.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, TypeVar

from google.protobuf.message import Message

from otellake.generate import wire
from otellake.generate.shop import CONSUMER, SERVER, Shop
from otellake.generate.simulate import SEVERITY_TEXT, SimLog, SimSpan

T = TypeVar("T")

_TIMES = struct.Struct("<BQBQ")  # start (field 7) and end (field 8), both fixed64
_EVENT_TIME = struct.Struct("<BQ")
# Span.flags (field 16, fixed32), as the OTel SDKs write them: "has is_remote" (0x100), and
# "is remote" (0x200) when the parent span lives in another process.
FLAGS_LOCAL = wire.tag(16, wire.I32) + struct.pack("<I", 0x100)
FLAGS_REMOTE = wire.tag(16, wire.I32) + struct.pack("<I", 0x300)
LOG_FLAGS = wire.tag(8, wire.I32) + struct.pack("<I", 1)  # the sampled trace flag


def grouped(
    items: list[T], resource_of: Callable[[T], int], scope_of: Callable[[T], int]
) -> list[tuple[int, list[tuple[int, list[T]]]]]:
    """Items by resource, then by scope, both in index order (items keep their order)."""
    groups: dict[int, dict[int, list[T]]] = {}
    for item in items:
        groups.setdefault(resource_of(item), {}).setdefault(scope_of(item), []).append(item)
    return [(r, sorted(scopes.items())) for r, scopes in sorted(groups.items())]


class ProtoEncoder:
    """``otlp_proto``: ``Export*ServiceRequest`` protobuf bytes."""

    encoding = "otlp_proto"

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self._resource = [
            wire.length_delimited(1, b"".join(wire.key_value(1, k, v) for k, v in r.attributes))
            for r in shop.resources
        ]
        self._scope = {
            s.index: wire.length_delimited(
                1, wire.string(1, s.name) + (wire.string(2, s.version) if s.version else b"")
            )
            for s in shop.scopes
        }
        self._head = [wire.string(5, op.name) + wire.uint(6, op.kind) for op in shop.operations]
        self._attrs = [
            b"".join(wire.key_value(9, k, v) for k, v in op.attributes) for op in shop.operations
        ]
        self._remote = [op.kind in (SERVER, CONSUMER) for op in shop.operations]
        self._kv: dict[tuple[int, str, Any], bytes] = {}

    def _key_value(self, field: int, key: str, value: Any) -> bytes:
        cache_key = (field, key, value)
        encoded = self._kv.get(cache_key)
        if encoded is None:
            encoded = self._kv[cache_key] = wire.key_value(field, key, value)
        return encoded

    # ---- traces ---------------------------------------------------------------------------

    def span(self, s: SimSpan) -> bytes:
        """One ``Span`` message (without its tag and length)."""
        op = s.op
        parts = [b"\n\x10", s.trace_id, b"\x12\x08", s.span_id]
        if s.parent_id:
            parts.append(b'"\x08')
            parts.append(s.parent_id)
        parts.append(self._head[op.index])
        parts.append(_TIMES.pack(0x39, s.start, 0x41, s.end))
        parts.append(self._attrs[op.index])
        for key, value in s.extra:
            parts.append(self._key_value(9, key, value))
        if s.code is not None and op.status_key is not None:
            parts.append(self._key_value(9, op.status_key, s.code))
        if s.exception is not None:
            exc_type, message, stack, at = s.exception
            event = b"".join(
                (
                    _EVENT_TIME.pack(0x09, at),
                    b"\x12\x09exception",
                    wire.key_value(3, "exception.type", exc_type),
                    wire.key_value(3, "exception.message", message),
                    wire.key_value(3, "exception.stacktrace", stack),
                )
            )
            parts.append(wire.length_delimited(11, event))
        if s.status:
            status = (wire.string(2, s.message) if s.message else b"") + wire.uint(3, s.status)
            parts.append(wire.length_delimited(15, status))
        parts.append(FLAGS_REMOTE if s.parent_id and self._remote[op.index] else FLAGS_LOCAL)
        return b"".join(parts)

    def traces(self, spans: list[SimSpan]) -> bytes:
        """An ``ExportTraceServiceRequest``."""
        span = self.span
        varint = wire.varint
        out = []
        for resource, scopes in grouped(spans, resource_of, span_scope):
            body = [self._resource[resource]]
            for scope, items in scopes:
                encoded = [span(s) for s in items]
                scope_body = b"".join(
                    [self._scope[scope]] + [b"\x12" + varint(len(e)) + e for e in encoded]
                )
                body.append(b"\x12" + varint(len(scope_body)) + scope_body)
            out.append(wire.length_delimited(1, b"".join(body)))
        return b"".join(out)

    # ---- logs -----------------------------------------------------------------------------

    def log(self, r: SimLog) -> bytes:
        parts = [
            _EVENT_TIME.pack(0x09, r.time),
            wire.uint(2, r.severity),
            wire.string(3, SEVERITY_TEXT[r.severity]),
            wire.length_delimited(5, wire.string(1, r.body)),
        ]
        for key, value in r.attributes:
            parts.append(self._key_value(6, key, value))
        if r.trace_id:
            parts.append(LOG_FLAGS)
            parts.append(b"\x4a\x10")
            parts.append(r.trace_id)
            parts.append(b"\x52\x08")
            parts.append(r.span_id)
        parts.append(_EVENT_TIME.pack(0x59, r.observed))
        return b"".join(parts)

    def logs(self, logs: list[SimLog]) -> bytes:
        """An ``ExportLogsServiceRequest``."""
        out = []
        for resource, scopes in grouped(logs, resource_of, log_scope):
            body = [self._resource[resource]]
            for scope, items in scopes:
                scope_body = b"".join(
                    [self._scope[scope]] + [wire.length_delimited(2, self.log(r)) for r in items]
                )
                body.append(wire.length_delimited(2, scope_body))
            out.append(wire.length_delimited(1, b"".join(body)))
        return b"".join(out)

    # ---- metrics --------------------------------------------------------------------------

    def metrics(self, request: Message) -> bytes:
        """An ``ExportMetricsServiceRequest`` (already a message)."""
        return request.SerializeToString()


def resource_of(item: SimSpan | SimLog) -> int:
    """Grouping keys of ``grouped``: an item's resource, a span's or a log's scope."""
    return item.resource


def span_scope(s: SimSpan) -> int:
    return s.op.scope.index


def log_scope(r: SimLog) -> int:
    return r.scope.index
