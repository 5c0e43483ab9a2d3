"""Read raw OTLP records back from Kafka and decode them with opentelemetry-proto.

Used by `otellake demo` to show telemetry arriving, and by tests that check what the
Collector wrote. (The lake's own decode runs on Spark; this is for looking.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from kafka import TopicPartition

from otellake import kafka_clients
from otellake.settings import Settings, Signal
from otellake.signals import SIGNALS


def decode(signal: Signal, value: bytes) -> Message:
    """One Kafka record value -> the whole export request it carries."""
    message = SIGNALS[signal].request_type()()
    message.ParseFromString(value)
    return message


def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    consumer = kafka_clients.consumer(settings)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        return dict(consumer.end_offsets(tps)) if tps else {}
    finally:
        consumer.close()


def read_until(
    settings: Settings,
    topic: str,
    start: dict[TopicPartition, int],
    done: Callable[[list[bytes]], bool],
    timeout_s: float = 60.0,
) -> list[bytes]:
    """Values written to ``topic`` after ``start`` until ``done(values)`` or the deadline."""
    consumer = kafka_clients.consumer(settings, enable_auto_commit=False)
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout_s
        assigned: set[TopicPartition] = set()
        while time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic) or set()
            wanted = {TopicPartition(topic, p) for p in partitions}
            if wanted != assigned:
                consumer.assign(sorted(wanted, key=lambda tp: tp.partition))
                for tp in wanted:
                    consumer.seek(tp, start.get(tp, 0))
                assigned = wanted
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in records)
            if done(values):
                return values
        return values
    finally:
        consumer.close()


@dataclass(frozen=True)
class Summary:
    """What one export request holds: its services, item count and item names."""

    services: frozenset[str]
    items: int
    names: tuple[str, ...]


def _label(item: Any, path: str) -> str:
    for part in path.split("."):
        item = getattr(item, part)
    return str(item)


def summarize(signal: Signal, message: Message) -> Summary:
    """Counts and names inside one export request, for display and for finding a probe."""
    definition = SIGNALS[signal]
    services: set[str] = set()
    names: list[str] = []
    for resource_group in getattr(message, definition.resource_field):
        for attr in resource_group.resource.attributes:
            if attr.key == "service.name":
                services.add(attr.value.string_value)
        for scope_group in getattr(resource_group, definition.scope_field):
            names += [
                _label(item, definition.item_label)
                for item in getattr(scope_group, definition.item_field)
            ]
    return Summary(frozenset(services), len(names), tuple(names))


def contains(signal: Signal, values: list[bytes], name: str) -> bool:
    """True when any of the records holds an item (span, log body, metric) called ``name``."""
    return any(name in summarize(signal, decode(signal, v)).names for v in values)
