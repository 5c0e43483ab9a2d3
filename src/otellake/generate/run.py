"""One generator run: simulate, cut into export requests, hand them to a sink, keep the truth.

Spans go out in requests of at most ``SPANS_PER_REQUEST`` (the Collector's batch limit), log
records likewise, and all instances' metrics in one request per tick, in order of simulated
time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from otellake.generate import truth as truth_file
from otellake.generate.kafka_sink import Encoder, KafkaSink, MemorySink, Sink
from otellake.generate.metrics import MetricsModel
from otellake.generate.otlp_json import JsonEncoder
from otellake.generate.otlp_proto import ProtoEncoder
from otellake.generate.shop import Shop, build_shop
from otellake.generate.simulate import Plan, SimLog, SimSpan, Simulator, schedule_incidents
from otellake.generate.truth import Truth
from otellake.settings import Encoding, Settings, Signal

SPANS_PER_REQUEST = 1000
LOGS_PER_REQUEST = 1000

Mode = Literal["kafka", "collector"]


@dataclass(frozen=True)
class GenerateOptions:
    plan: Plan
    mode: Mode = "kafka"
    encoding: Encoding = "otlp_proto"
    seed: int = 1
    truth: Path | None = None
    incidents: bool = True


@dataclass
class GenerateResult:
    spans: int
    logs: int
    metric_points: int
    seconds: float
    records: dict[str, int]
    bytes: dict[str, int]
    truth: dict[str, Any] = field(repr=False)

    @property
    def spans_per_s(self) -> float:
        return self.spans / self.seconds if self.seconds else 0.0


def make_encoder(encoding: Encoding, shop: Shop) -> Encoder:
    return JsonEncoder(shop) if encoding == "otlp_json" else ProtoEncoder(shop)


def make_sink(settings: Settings, options: GenerateOptions, shop: Shop) -> Sink:
    if options.mode == "collector":
        from otellake.generate.collector_sink import CollectorSink

        return CollectorSink(settings, shop)
    return KafkaSink(settings, make_encoder(options.encoding, shop))


class _Outbox:
    """Spans and logs on their way to the sink, sent as full export requests (the last ones
    by ``flush``); ``progress(spans sent)`` after each full span request."""

    def __init__(self, sink: Sink, progress: Callable[[int], None] | None) -> None:
        self.sink, self.progress = sink, progress
        self.spans: list[SimSpan] = []
        self.logs: list[SimLog] = []
        self.sent = 0

    def add(self, spans: list[SimSpan], logs: list[SimLog]) -> None:
        self.spans.extend(spans)
        self.logs.extend(logs)
        if len(self.spans) >= SPANS_PER_REQUEST:
            self._send_spans()
            if self.progress:
                self.progress(self.sent)
        if len(self.logs) >= LOGS_PER_REQUEST:
            self.sink.send_logs(self.logs[:LOGS_PER_REQUEST])
            del self.logs[:LOGS_PER_REQUEST]

    def flush(self) -> None:
        while self.spans:
            self._send_spans()
        for i in range(0, len(self.logs), LOGS_PER_REQUEST):
            self.sink.send_logs(self.logs[i : i + LOGS_PER_REQUEST])
        self.logs.clear()

    def _send_spans(self) -> None:
        request = self.spans[:SPANS_PER_REQUEST]
        self.sink.send_spans(request)
        self.sent += len(request)
        del self.spans[:SPANS_PER_REQUEST]


def generate(
    settings: Settings | None,
    options: GenerateOptions,
    progress: Callable[[int], None] | None = None,
    sink: Sink | None = None,
    shop: Shop | None = None,
) -> GenerateResult:
    """Run the generator to ``sink`` (default: per ``options.mode``, which needs
    ``settings``); ``progress(spans)`` after each span request."""
    shop = shop or build_shop()
    plan, seed = options.plan, options.seed
    incidents = schedule_incidents(seed, plan) if options.incidents else []
    simulator = Simulator(shop, seed, plan, incidents)
    metrics = MetricsModel(shop, seed, plan, incidents)
    truth = Truth()
    services = [r.service for r in shop.resources]
    started = time.monotonic()
    if sink is None:
        if settings is None:
            raise ValueError("generate() needs settings or a sink")
        sink = make_sink(settings, options, shop)
    outbox = _Outbox(sink, progress)

    def tick() -> None:
        t = metrics.tick()
        sink.send_metrics(t.request)
        truth.add_metrics(t.points, t.time_ns)
        truth.add_logs(t.logs, services)
        outbox.logs.extend(t.logs)

    try:
        for spans, logs in simulator.traces():
            arrival = spans[0].start
            while metrics.next_tick is not None and arrival >= metrics.next_tick:
                tick()
            metrics.observe(spans)
            truth.add_spans(spans)
            truth.add_logs(logs, services)
            outbox.add(spans, logs)
        while metrics.next_tick is not None:
            tick()
        outbox.flush()
    except BaseException:
        sink.abort()
        raise
    sink.close()
    if progress:
        progress(outbox.sent)
    seconds = time.monotonic() - started
    document = truth.document(seed, plan, incidents)
    if options.truth is not None:
        truth_file.write(options.truth, document)
    return GenerateResult(
        spans=truth.spans,
        logs=truth.logs,
        metric_points=sum(truth.points.values()),
        seconds=seconds,
        records=dict(sink.records),
        bytes=dict(sink.bytes),
        truth=document,
    )


def generate_records(
    options: GenerateOptions, shop: Shop | None = None
) -> tuple[list[tuple[Signal, bytes]], GenerateResult]:
    """The Kafka record values a run would write (no Kafka), with its result."""
    shop = shop or build_shop()
    sink = MemorySink(make_encoder(options.encoding, shop))
    result = generate(None, options, sink=sink, shop=shop)
    return list(sink.values), result
