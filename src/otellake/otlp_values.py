"""How the lake renders OTLP's enums: ``span_kind`` and ``status_code`` hold the proto enum's
name without its prefix (``SERVER``, ``ERROR``), indexed by the enum's number. Read from the
opentelemetry-proto descriptors, so this list and the protocol cannot drift apart; the JVM
decoder's copy is checked against it (tests/transform/test_jvm_decoder.py)."""

from __future__ import annotations

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def _names(enum: object, prefix: str) -> tuple[str, ...]:
    values = enum.DESCRIPTOR.values  # type: ignore[attr-defined]
    by_number = {v.number: v.name.removeprefix(prefix) for v in values}
    return tuple(by_number[i] for i in range(len(by_number)))


# ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
SPAN_KINDS: tuple[str, ...] = _names(Span.SpanKind, "SPAN_KIND_")
# ("UNSET", "OK", "ERROR")
STATUS_CODES: tuple[str, ...] = _names(Status.StatusCode, "STATUS_CODE_")
