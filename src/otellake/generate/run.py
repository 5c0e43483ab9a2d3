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
from otellake.settings import Encoding, Settings

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
    span_buffer: list[SimSpan] = []
    log_buffer: list[SimLog] = []
    sent = 0

    def send_logs(logs: list[SimLog]) -> None:
        for i in range(0, len(logs), LOGS_PER_REQUEST):
            sink.send_logs(logs[i : i + LOGS_PER_REQUEST])

    def tick() -> None:
        t = metrics.tick()
        sink.send_metrics(t.request)
        truth.add_metrics(t.points, t.time_ns)
        truth.add_logs(t.logs, services)
        log_buffer.extend(t.logs)

    try:
        for spans, logs in simulator.traces():
            arrival = spans[0].start
            while metrics.next_tick is not None and arrival >= metrics.next_tick:
                tick()
            metrics.observe(spans)
            truth.add_spans(spans)
            truth.add_logs(logs, services)
            span_buffer.extend(spans)
            log_buffer.extend(logs)
            if len(span_buffer) >= SPANS_PER_REQUEST:
                sink.send_spans(span_buffer[:SPANS_PER_REQUEST])
                del span_buffer[:SPANS_PER_REQUEST]
                sent += SPANS_PER_REQUEST
                if progress:
                    progress(sent)
            if len(log_buffer) >= LOGS_PER_REQUEST:
                send_logs(log_buffer[:LOGS_PER_REQUEST])
                del log_buffer[:LOGS_PER_REQUEST]
        while metrics.next_tick is not None:
            tick()
        while span_buffer:
            sink.send_spans(span_buffer[:SPANS_PER_REQUEST])
            sent += len(span_buffer[:SPANS_PER_REQUEST])
            del span_buffer[:SPANS_PER_REQUEST]
        send_logs(log_buffer)
    except BaseException:
        sink.abort()
        raise
    sink.close()
    if progress:
        progress(sent)
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
) -> tuple[list[tuple[str, bytes]], GenerateResult]:
    """The Kafka record values a run would write (no Kafka), with its result."""
    shop = shop or build_shop()
    sink = MemorySink(make_encoder(options.encoding, shop))
    result = generate(None, options, sink=sink, shop=shop)
    return list(sink.values), result
