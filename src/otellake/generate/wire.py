"""The few protobuf wire-format pieces the fast span and log encoders need.

Building millions of message objects costs more than the data is worth; instead the encoders
join pre-encoded pieces (a span template's name, kind and constant attributes) with the few
varying fields. ``tests/generate`` parses every result with the generated OTLP classes.
"""

from __future__ import annotations

import math
import struct
from typing import Any

_SMALL = [bytes((n,)) for n in range(128)]
_FIXED64 = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")

VARINT, I64, LEN, I32 = 0, 1, 2, 5


def varint(value: int) -> bytes:
    """Base-128 varint; negative int64 values take their 10-byte two's complement."""
    if 0 <= value < 128:
        return _SMALL[value]
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(field: int, wire_type: int) -> bytes:
    return varint((field << 3) | wire_type)


def length_delimited(field: int, payload: bytes) -> bytes:
    return tag(field, LEN) + varint(len(payload)) + payload


def string(field: int, text: str) -> bytes:
    return length_delimited(field, text.encode())


def uint(field: int, value: int) -> bytes:
    return tag(field, VARINT) + varint(value)


def fixed64(field: int, value: int) -> bytes:
    return tag(field, I64) + _FIXED64.pack(value)


def double(field: int, value: float) -> bytes:
    return tag(field, I64) + _DOUBLE.pack(value)


def any_value(value: Any) -> bytes:
    """An ``AnyValue`` message for a str, bool, int or float."""
    if isinstance(value, bool):
        return uint(2, int(value))
    if isinstance(value, int):
        return uint(3, value)
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("NaN attribute values are not generated")
        return double(4, value)
    return string(1, str(value))


def key_value(field: int, key: str, value: Any) -> bytes:
    """A ``KeyValue`` as field ``field`` of its parent (attributes: 9 in Span, 6 in LogRecord)."""
    return length_delimited(field, string(1, key) + length_delimited(2, any_value(value)))
