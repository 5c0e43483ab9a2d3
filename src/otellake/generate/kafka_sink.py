"""Where generated telemetry goes in ``--mode kafka``: straight to the three topics.

One record per export request, no key, zstd, ``acks=all``: what the Collector's kafka
exporter writes. ``MemorySink`` keeps the same records in a list (tests, sizing).
"""

from __future__ import annotations

import contextlib
import socket
from collections import Counter, deque
from typing import Any, Protocol

from google.protobuf.message import Message

from otellake import kafka_clients
from otellake.errors import OtelLakeError, ServiceNotReady
from otellake.generate.simulate import SimLog, SimSpan
from otellake.settings import Settings, Signal


class Encoder(Protocol):
    encoding: str

    def traces(self, spans: list[SimSpan]) -> bytes: ...

    def logs(self, logs: list[SimLog]) -> bytes: ...

    def metrics(self, request: Message) -> bytes: ...


class Sink(Protocol):
    """Takes a run's requests in order; ``close`` returns once everything is delivered."""

    records: Counter[str]
    bytes: Counter[str]

    def send_spans(self, spans: list[SimSpan]) -> None: ...

    def send_logs(self, logs: list[SimLog]) -> None: ...

    def send_metrics(self, request: Message) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class MemorySink:
    """Encodes like ``KafkaSink`` and keeps ``(signal, value)`` in order."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.values: list[tuple[Signal, bytes]] = []
        self.records: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()

    def _keep(self, signal: Signal, value: bytes) -> None:
        self.values.append((signal, value))
        self.records[signal] += 1
        self.bytes[signal] += len(value)

    def send_spans(self, spans: list[SimSpan]) -> None:
        self._keep("traces", self.encoder.traces(spans))

    def send_logs(self, logs: list[SimLog]) -> None:
        self._keep("logs", self.encoder.logs(logs))

    def send_metrics(self, request: Message) -> None:
        self._keep("metrics", self.encoder.metrics(request))

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


MAX_IN_FLIGHT = 256  # records (each at most 1000 items, well under 1 MB)


class KafkaDeliveryError(OtelLakeError):
    """The broker did not take every record."""


class KafkaSink(MemorySink):
    """Produces each request as one record to its signal's topic."""

    def __init__(self, settings: Settings, encoder: Encoder) -> None:
        super().__init__(encoder)
        from kafka.errors import KafkaError

        self.settings = settings
        self.topics = settings.topics
        self.failures: list[BaseException] = []
        self._pending: deque[Any] = deque()
        _check_reachable(settings)
        kafka_clients.preflight(settings)  # a refused login fails now, with the broker's reason
        # creates missing topics, as `otellake up` does; fails clearly when nobody answers
        kafka_clients.ensure_topics(
            settings, list(self.topics.values()), partitions=settings.topic_partitions
        )
        try:
            self.producer = kafka_clients.producer(
                settings,
                acks="all",
                compression_type="zstd",
                linger_ms=20,
                batch_size=1 << 20,
                max_request_size=16 << 20,
                metrics_enabled=False,
                max_block_ms=60_000,
            )
        except KafkaError as exc:
            raise ServiceNotReady(
                f"Kafka at {settings.kafka_bootstrap} (OTELLAKE_KAFKA_BOOTSTRAP) did not answer: "
                f"{exc}; is the broker up (`otellake up`)?"
            ) from exc

    def _keep(self, signal: Signal, value: bytes) -> None:
        from kafka.errors import KafkaError

        self.records[signal] += 1
        self.bytes[signal] += len(value)
        future = self.producer.send(self.topics[signal], value=value)
        future.add_errback(self._failed)
        self._pending.append(future)
        # kafka-python's buffer is unbounded: keep at most MAX_IN_FLIGHT records unacknowledged
        while len(self._pending) > MAX_IN_FLIGHT:
            with contextlib.suppress(KafkaError):  # a failure is counted by the errback
                self._pending.popleft().get(timeout=300)

    def send_values(self, values: list[tuple[Signal, bytes]]) -> None:
        """Records encoded earlier (``generate.run.generate_records``), in order."""
        for signal, value in values:
            self._keep(signal, value)

    def _failed(self, exc: BaseException) -> None:
        self.failures.append(exc)

    def close(self) -> None:
        from kafka.errors import KafkaError

        try:
            self.producer.flush(timeout=300)
        except KafkaError as exc:
            self.failures.append(exc)
        finally:
            self.producer.close(timeout=30)
        if self.failures:
            raise KafkaDeliveryError(
                f"{len(self.failures)} of {sum(self.records.values())} records were not "
                f"delivered to Kafka at {self.settings.kafka_bootstrap}: {self.failures[0]!r}"
            )

    def abort(self) -> None:
        self.producer.close(timeout=0)


def _check_reachable(settings: Settings) -> None:
    """Fail in seconds, not after the client's bootstrap timeout, when no broker listens."""
    errors = []
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
            return
        except OSError as exc:
            errors.append(f"{server.strip()}: {exc}")
    raise ServiceNotReady(
        f"no Kafka broker at {settings.kafka_bootstrap} (OTELLAKE_KAFKA_BOOTSTRAP): "
        f"{'; '.join(errors)}; is the broker up (`otellake up`)?"
    )


def describe(sink: Any) -> str:
    """``traces 12 records / 3.4 MB, ...`` for the summary line."""
    return ", ".join(
        f"{signal} {sink.records.get(signal, 0)} records / {sink.bytes.get(signal, 0) / 1e6:.1f} MB"
        for signal in ("traces", "logs", "metrics")
    )
