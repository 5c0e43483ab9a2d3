"""Periodic metrics of every service instance, derived from the simulated SERVER spans.

Every ``interval`` of simulated time each instance reports (as OTLP protobuf messages, the
canonical model; sinks render them as they need):

- ``http.server.request.duration`` / ``rpc.server.call.duration`` /
  ``messaging.process.duration``: explicit-bucket histograms in seconds, cumulative, one
  series per operation and status code, with an exemplar (the slowest request of the interval);
- ``app.server.request.duration``: an exponential histogram in ms, delta (only when it saw
  requests);
- ``app.server.requests`` (cumulative monotonic counter) and ``app.server.errors`` (delta
  monotonic counter);
- ``process.cpu.utilization`` and ``process.memory.usage`` gauges (cpu follows the load and
  jumps during a latency incident);
- ``app.server.latency``: a summary (cumulative count and sum, quantiles of the interval).

Instances also write a few runtime log records without trace context at each tick.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource

from otellake import schemas
from otellake.generate.shop import CONSUMER, HTTP_STATUS, SERVER, Operation, Scope, Shop
from otellake.generate.simulate import ERROR, INFO, WARN, Incident, Plan, SimLog, SimSpan

INTERVAL_NS = 10 * 1_000_000_000
HTTP_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
EXP_SCALE = 3
SUMMARY_QUANTILES = (0.0, 0.5, 0.9, 0.99, 1.0)
CUMULATIVE = m.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
DELTA = m.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def key_values(items: Any) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in items]


@dataclass
class _Series:
    """A cumulative explicit-bucket histogram series."""

    op: Operation
    code: int | None
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    buckets: list[int] = field(default_factory=lambda: [0] * (len(HTTP_BOUNDS) + 1))
    slowest: SimSpan | None = None  # this interval's exemplar


@dataclass
class _Instance:
    """What one service instance has seen: cumulative totals and this interval's requests."""

    resource: int
    service: str
    memory_base: int
    requests: int = 0
    interval_requests: int = 0
    interval_errors: int = 0
    interval_ms: list[float] = field(default_factory=list)
    summary_count: int = 0
    summary_sum: float = 0.0
    series: dict[tuple[int, int | None], _Series] = field(default_factory=dict)


@dataclass
class Tick:
    """One reporting time: the export request, the runtime logs and points per table."""

    time_ns: int
    request: ExportMetricsServiceRequest
    logs: list[SimLog]
    points: Counter[str]


class MetricsModel:
    def __init__(self, shop: Shop, seed: int, plan: Plan, incidents: list[Incident]) -> None:
        self.shop = shop
        self.plan = plan
        self.incidents = incidents
        self.rng = random.Random(f"{seed}:metrics")
        self.instances = [
            _Instance(r.index, r.service, self.rng.randrange(180, 900) * (1 << 20))
            for r in shop.resources
        ]
        end = plan.start_ns + plan.duration_ns
        count = max(1, math.ceil(plan.duration_ns / INTERVAL_NS))
        self.ticks = [min(plan.start_ns + (k + 1) * INTERVAL_NS, end) for k in range(count)]
        self._next = 0
        self._last_tick = plan.start_ns
        self._resources = [PbResource(attributes=key_values(r.attributes)) for r in shop.resources]
        # the lake's table of each metric type (by its OTLP ``Metric.data`` field)
        self.tables = schemas.otlp_metric_tables()

    @property
    def next_tick(self) -> int | None:
        return self.ticks[self._next] if self._next < len(self.ticks) else None

    def observe(self, spans: list[SimSpan]) -> None:
        for span in spans:
            op = span.op
            if op.kind != SERVER and op.kind != CONSUMER:
                continue
            inst = self.instances[span.resource]
            seconds = (span.end - span.start) / 1e9
            inst.requests += 1
            inst.interval_requests += 1
            error = span.status == ERROR or (
                op.status_key == HTTP_STATUS and span.code is not None and span.code >= 500
            )
            if error:
                inst.interval_errors += 1
            inst.interval_ms.append(seconds * 1000)
            key = (op.index, span.code)
            series = inst.series.get(key)
            if series is None:
                series = inst.series[key] = _Series(op, span.code)
            series.count += 1
            series.total += seconds
            series.low = min(series.low, seconds)
            series.high = max(series.high, seconds)
            series.buckets[bisect.bisect_left(HTTP_BOUNDS, seconds)] += 1
            if series.slowest is None or span.end - span.start > (
                series.slowest.end - series.slowest.start
            ):
                series.slowest = span

    def tick(self) -> Tick:
        """Report every instance at the next tick time and start a new interval."""
        now = self.ticks[self._next]
        self._next += 1
        start, previous = self.plan.start_ns, self._last_tick
        self._last_tick = now
        interval_s = max((now - previous) / 1e9, 1e-9)
        slow = {
            i.service
            for i in self.incidents
            if i.kind == "latency" and i.start_ns <= now - 1 and previous < i.end_ns
        }
        request = ExportMetricsServiceRequest()
        points: Counter[str] = Counter()
        logs: list[SimLog] = []
        rng, tables = self.rng, self.tables
        for inst in self.instances:
            runtime_scope = self.shop.runtime_scopes[inst.service]
            scopes: dict[int, tuple[Scope, list[m.Metric]]] = {}

            def add(
                scope: Scope,
                metric: m.Metric,
                kind: str,
                n: int,
                scopes: dict[int, tuple[Scope, list[m.Metric]]] = scopes,
            ) -> None:
                scopes.setdefault(scope.index, (scope, []))[1].append(metric)
                points[tables[kind]] += n

            # gauges
            load = inst.interval_requests / interval_s
            cpu = 0.03 + 0.004 * load + rng.gauss(0, 0.01) + (0.35 if inst.service in slow else 0)
            cpu = round(min(0.99, max(0.005, cpu)), 4)
            memory = inst.memory_base + (inst.requests % 5000) * 4096 + rng.randrange(1 << 20)
            add(runtime_scope, _gauge("process.cpu.utilization", "1", cpu, now), "gauge", 1)
            add(runtime_scope, _gauge("process.memory.usage", "By", memory, now), "gauge", 1)
            # counters
            add(
                runtime_scope,
                _sum("app.server.requests", "{request}", inst.requests, start, now, CUMULATIVE),
                "sum",
                1,
            )
            add(
                runtime_scope,
                _sum("app.server.errors", "{error}", inst.interval_errors, previous, now, DELTA),
                "sum",
                1,
            )
            for scope, metric in _explicit_histograms(inst, start, now):
                add(scope, metric, "histogram", len(metric.histogram.data_points))
            if inst.interval_ms:
                add(
                    runtime_scope,
                    _exp_histogram(inst.interval_ms, previous, now),
                    "exponential_histogram",
                    1,
                )
            if inst.requests:
                inst.summary_count += len(inst.interval_ms)
                inst.summary_sum += sum(inst.interval_ms)
                add(runtime_scope, _summary(inst, start, now), "summary", 1)
            resource_metrics = request.resource_metrics.add()
            resource_metrics.resource.CopyFrom(self._resources[inst.resource])
            for scope, metrics in (scopes[k] for k in sorted(scopes)):
                scope_metrics = resource_metrics.scope_metrics.add()
                scope_metrics.scope.CopyFrom(
                    InstrumentationScope(name=scope.name, version=scope.version)
                )
                scope_metrics.metrics.extend(metrics)
            logs.extend(self._runtime_logs(inst, runtime_scope, previous, now, cpu))
            inst.interval_requests = inst.interval_errors = 0
            inst.interval_ms = []
        return Tick(now, request, logs, points)

    def _runtime_logs(
        self, inst: _Instance, scope: Scope, previous: int, now: int, cpu: float
    ) -> list[SimLog]:
        rng = self.rng
        logs = []
        if rng.random() < 0.3:
            at = previous + int((now - previous) * rng.random())
            active = rng.randrange(0, 20)
            body = (
                f"connection pool stats: active={active} idle={20 - active} waiting=0 "
                f'max=20 pool="{inst.service}-db" cpu={cpu:.2f}'
            )
            logs.append(SimLog(at, at + 1_000_000, INFO, body, (), b"", b"", inst.resource, scope))
        if rng.random() < 0.05:
            at = previous + int((now - previous) * rng.random())
            pause = rng.lognormvariate(math.log(40), 0.5)
            body = f"GC pause of {pause:.1f} ms exceeded the 25 ms budget (heap {inst.memory_base >> 20} MiB)"  # noqa: E501
            logs.append(SimLog(at, at + 1_000_000, WARN, body, (), b"", b"", inst.resource, scope))
        return logs


_HISTOGRAM_NAMES = {
    "http": "http.server.request.duration",
    "grpc": "rpc.server.call.duration",
    "messaging": "messaging.process.duration",
}


def _explicit_histograms(inst: _Instance, start: int, now: int) -> list[tuple[Scope, m.Metric]]:
    """An instance's explicit histograms: one metric per name and scope, one point per series
    seen so far (each series' slowest request of the interval is then forgotten)."""
    by_name: dict[tuple[str, int], tuple[Scope, m.Metric]] = {}
    for series in inst.series.values():
        name = _HISTOGRAM_NAMES[series.op.protocol]
        scope = series.op.scope
        entry = by_name.get((name, scope.index))
        if entry is None:
            metric = m.Metric(
                name=name,
                description="Duration of requests handled by this service.",
                unit="s",
                histogram=m.Histogram(aggregation_temporality=CUMULATIVE),
            )
            entry = by_name[(name, scope.index)] = (scope, metric)
        entry[1].histogram.data_points.append(_histogram_point(series, start, now))
        series.slowest = None
    return list(by_name.values())


def _gauge(name: str, unit: str, value: float, now: int) -> m.Metric:
    point = m.NumberDataPoint(time_unix_nano=now)  # a gauge has no start time (as the SDKs write)
    if isinstance(value, int):
        point.as_int = value
    else:
        point.as_double = value
    return m.Metric(name=name, unit=unit, gauge=m.Gauge(data_points=[point]))


def _sum(name: str, unit: str, value: int, start: int, now: int, temporality: int) -> m.Metric:
    point = m.NumberDataPoint(start_time_unix_nano=start, time_unix_nano=now, as_int=value)
    return m.Metric(
        name=name,
        unit=unit,
        sum=m.Sum(data_points=[point], aggregation_temporality=temporality, is_monotonic=True),  # type: ignore[arg-type]
    )


def _histogram_point(series: _Series, start: int, now: int) -> m.HistogramDataPoint:
    attrs: list[tuple[str, Any]] = [
        (k, v)
        for k, v in series.op.attributes
        if k in ("http.request.method", "http.route", "rpc.system", "rpc.service", "rpc.method")
        or k in ("messaging.system", "messaging.destination.name")
    ]
    if series.code is not None and series.op.status_key is not None:
        attrs.append((series.op.status_key, series.code))
    point = m.HistogramDataPoint(
        attributes=key_values(attrs),
        start_time_unix_nano=start,
        time_unix_nano=now,
        count=series.count,
        sum=series.total,
        bucket_counts=series.buckets,
        explicit_bounds=HTTP_BOUNDS,
        min=series.low,
        max=series.high,
    )
    if series.slowest is not None:
        span = series.slowest
        point.exemplars.append(
            m.Exemplar(
                time_unix_nano=span.end,
                as_double=(span.end - span.start) / 1e9,
                trace_id=span.trace_id,
                span_id=span.span_id,
            )
        )
    return point


def exp_bucket_index(value: float, scale: int = EXP_SCALE) -> int:
    """Index of the base-2^(2^-scale) bucket (lower, upper] that holds ``value`` > 0."""
    return math.ceil(math.log2(value) * (1 << scale)) - 1


def _exp_histogram(values_ms: list[float], previous: int, now: int) -> m.Metric:
    indexes = [exp_bucket_index(v) for v in values_ms if v > 0]
    offset = min(indexes) if indexes else 0
    counts = [0] * ((max(indexes) - offset + 1) if indexes else 0)
    for i in indexes:
        counts[i - offset] += 1
    point = m.ExponentialHistogramDataPoint(
        start_time_unix_nano=previous,
        time_unix_nano=now,
        count=len(values_ms),
        sum=sum(values_ms),
        scale=EXP_SCALE,
        zero_count=len(values_ms) - len(indexes),
        positive=m.ExponentialHistogramDataPoint.Buckets(offset=offset, bucket_counts=counts),
        min=min(values_ms),
        max=max(values_ms),
    )
    return m.Metric(
        name="app.server.request.duration",
        description="Server request duration, exponential buckets.",
        unit="ms",
        exponential_histogram=m.ExponentialHistogram(
            data_points=[point], aggregation_temporality=DELTA
        ),
    )


def _summary(inst: _Instance, start: int, now: int) -> m.Metric:
    values = sorted(inst.interval_ms)
    quantiles = []
    for q in SUMMARY_QUANTILES:
        value = values[min(len(values) - 1, int(q * len(values)))] if values else 0.0
        quantiles.append(m.SummaryDataPoint.ValueAtQuantile(quantile=q, value=value))
    point = m.SummaryDataPoint(
        start_time_unix_nano=start,
        time_unix_nano=now,
        count=inst.summary_count,
        sum=inst.summary_sum,
        quantile_values=quantiles,
    )
    return m.Metric(
        name="app.server.latency",
        description="Request latency summary (quantiles over the last interval).",
        unit="ms",
        summary=m.Summary(data_points=[point]),
    )
