"""Where generated telemetry goes in ``--mode collector``: the OpenTelemetry SDK, over OTLP/gRPC,
to the Collector's receiver, which batches it into Kafka (the path applications take).

Spans are started and ended through a ``TracerProvider`` per service instance with the
simulated ids (a seeded ``IdGenerator``) and explicit timestamps; logs are emitted through a
``LoggerProvider`` with explicit timestamps and trace context; metric points, whose times the
SDK's instruments cannot set, are handed to the SDK's OTLP metric exporter as ``MetricsData``.
The SDK has no summary type, so the summaries go to the Collector's OTLP/HTTP receiver as an
``ExportMetricsServiceRequest``.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator

from otellake.errors import OtelLakeError, ServiceNotReady
from otellake.generate.shop import CONSUMER, SERVER, Shop
from otellake.generate.simulate import SEVERITY_TEXT, SimLog, SimSpan
from otellake.settings import Settings

FLUSH_MS = 60_000


class CollectorExportError(OtelLakeError):
    """The Collector did not accept everything the SDK exported."""


class SeededIds(IdGenerator):
    """Hands the SDK the ids the simulation drew, set just before each span starts."""

    def __init__(self) -> None:
        self.trace_id = 0
        self.span_id = 0

    def generate_trace_id(self) -> int:
        return self.trace_id

    def generate_span_id(self) -> int:
        return self.span_id


class _Checked:
    """Wraps an OTLP exporter: counts what it failed to export; shut down once, by us."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failed = 0

    def export(self, batch: Sequence[Any]) -> Any:
        result = self.inner.export(batch)
        if result.value != 0:  # SUCCESS is 0 for spans and log records alike
            self.failed += len(batch)
        return result

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def check_reachable(host: str, port: int, what: str, setting: str) -> None:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        raise ServiceNotReady(
            f"no Collector {what} at {host}:{port} ({setting}): {exc}; "
            "is the stack up (`otellake up`)?"
        ) from None


class CollectorSink:
    """Exports through the OTel SDK to the Collector on this machine."""

    def __init__(self, settings: Settings, shop: Shop) -> None:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        host = "127.0.0.1"
        check_reachable(
            host, settings.otlp_grpc_port, "OTLP/gRPC receiver", "OTELLAKE_OTLP_GRPC_PORT"
        )
        check_reachable(
            host, settings.otlp_http_port, "OTLP/HTTP receiver", "OTELLAKE_OTLP_HTTP_PORT"
        )
        self.endpoint = f"http://{host}:{settings.otlp_grpc_port}"
        self.http_metrics_url = f"http://{host}:{settings.otlp_http_port}/v1/metrics"
        self.shop = shop
        self.records: Counter[str] = Counter()  # items handed to the SDK, by signal
        self.bytes: Counter[str] = Counter()
        self.ids = SeededIds()
        self.span_exporter = _Checked(OTLPSpanExporter(endpoint=self.endpoint, insecure=True))
        self.log_exporter = _Checked(OTLPLogExporter(endpoint=self.endpoint, insecure=True))
        self.metric_exporter = OTLPMetricExporter(endpoint=self.endpoint, insecure=True)
        self.metric_failures = 0
        self.tracer_providers = []
        self.logger_providers = []
        for r in shop.resources:
            resource = Resource(dict(r.attributes))
            tracer_provider = TracerProvider(resource=resource, id_generator=self.ids)
            tracer_provider.add_span_processor(
                BatchSpanProcessor(
                    self.span_exporter,  # type: ignore[arg-type]
                    max_queue_size=1 << 16,
                    max_export_batch_size=512,
                    schedule_delay_millis=200,
                )
            )
            logger_provider = LoggerProvider(resource=resource)
            logger_provider.add_log_record_processor(
                BatchLogRecordProcessor(
                    self.log_exporter,  # type: ignore[arg-type]
                    max_queue_size=1 << 16,
                    max_export_batch_size=512,
                    schedule_delay_millis=200,
                )
            )
            self.tracer_providers.append(tracer_provider)
            self.logger_providers.append(logger_provider)
        self._tracers: dict[tuple[int, int], Any] = {}
        self._loggers: dict[tuple[int, int], Any] = {}

    # ---- spans and logs -------------------------------------------------------------------

    def _tracer(self, resource: int, scope_index: int) -> Any:
        key = (resource, scope_index)
        if key not in self._tracers:
            scope = self.shop.scopes[scope_index]
            self._tracers[key] = self.tracer_providers[resource].get_tracer(
                scope.name, scope.version or None
            )
        return self._tracers[key]

    def _logger(self, resource: int, scope_index: int) -> Any:
        key = (resource, scope_index)
        if key not in self._loggers:
            scope = self.shop.scopes[scope_index]
            self._loggers[key] = self.logger_providers[resource].get_logger(
                scope.name, scope.version or None
            )
        return self._loggers[key]

    @staticmethod
    def _context(trace_id: bytes, span_id: bytes, remote: bool) -> Context:
        parent = trace.NonRecordingSpan(
            trace.SpanContext(
                int.from_bytes(trace_id, "big"),
                int.from_bytes(span_id, "big"),
                is_remote=remote,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
            )
        )
        return trace.set_span_in_context(parent, Context())

    def send_spans(self, spans: list[SimSpan]) -> None:
        for s in spans:
            op = s.op
            self.ids.trace_id = int.from_bytes(s.trace_id, "big")
            self.ids.span_id = int.from_bytes(s.span_id, "big")
            remote = op.kind in (SERVER, CONSUMER)
            context = self._context(s.trace_id, s.parent_id, remote) if s.parent_id else Context()
            span = self._tracer(s.resource, op.scope.index).start_span(
                op.name,
                context=context,
                kind=trace.SpanKind(op.kind - 1),  # OTLP enum -> API enum
                attributes=dict(s.attributes()),
                start_time=s.start,
            )
            if s.exception is not None:
                exc_type, message, stack, at = s.exception
                span.add_event(
                    "exception",
                    {
                        "exception.type": exc_type,
                        "exception.message": message,
                        "exception.stacktrace": stack,
                    },
                    timestamp=at,
                )
            if s.status:
                span.set_status(trace.Status(trace.StatusCode.ERROR, s.message or None))
            span.end(end_time=s.end)
        self.records["traces"] += len(spans)
        self._flush(self.tracer_providers)

    def send_logs(self, logs: list[SimLog]) -> None:
        from opentelemetry._logs import SeverityNumber

        for r in logs:
            context = self._context(r.trace_id, r.span_id, False) if r.trace_id else Context()
            self._logger(r.resource, r.scope.index).emit(
                timestamp=r.time,
                observed_timestamp=r.observed,
                context=context,
                severity_number=SeverityNumber(r.severity),
                severity_text=SEVERITY_TEXT[r.severity],
                body=r.body,
                attributes=dict(r.attributes) or None,
            )
        self.records["logs"] += len(logs)
        self._flush(self.logger_providers)

    @staticmethod
    def _flush(providers: list[Any]) -> None:
        # the queues are bounded: flush each request's worth before the next one
        for provider in providers:
            provider.force_flush(FLUSH_MS)

    # ---- metrics --------------------------------------------------------------------------

    def send_metrics(self, request: Any) -> None:
        from opentelemetry.sdk.metrics.export import MetricExportResult

        data, summaries = to_sdk_metrics(request)
        result = self.metric_exporter.export(data, timeout_millis=FLUSH_MS)
        if result != MetricExportResult.SUCCESS:
            self.metric_failures += 1
        if summaries.resource_metrics:
            self._post_summaries(summaries)
        self.records["metrics"] += 1

    def _post_summaries(self, request: ExportMetricsServiceRequest) -> None:
        post = urllib.request.Request(
            self.http_metrics_url,
            data=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(post, timeout=FLUSH_MS / 1000) as answer:
                answer.read()
        except (urllib.error.URLError, OSError) as exc:
            raise CollectorExportError(
                f"the Collector's OTLP/HTTP receiver at {self.http_metrics_url} refused "
                f"the summaries: {exc}"
            ) from exc

    # ---- end ------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            for provider in self.tracer_providers + self.logger_providers:
                if not provider.force_flush(FLUSH_MS):
                    raise CollectorExportError(
                        f"the OTel SDK could not flush to the Collector at {self.endpoint} "
                        f"within {FLUSH_MS // 1000} s"
                    )
        finally:
            self.abort()
        failed = {
            "spans": self.span_exporter.failed,
            "log records": self.log_exporter.failed,
            "metric exports": self.metric_failures,
        }
        if any(failed.values()):
            lost = ", ".join(f"{n} {what}" for what, n in failed.items() if n)
            raise CollectorExportError(f"the Collector at {self.endpoint} did not accept {lost}")

    def abort(self) -> None:
        for provider in self.tracer_providers + self.logger_providers:
            provider.shutdown()
        self.span_exporter.inner.shutdown()
        self.log_exporter.inner.shutdown()
        self.metric_exporter.shutdown()


def to_sdk_metrics(request: ExportMetricsServiceRequest) -> tuple[Any, ExportMetricsServiceRequest]:
    """An OTLP metrics request as the SDK's ``MetricsData`` (gauges, sums, histograms,
    exponential histograms), and a request with what the SDK cannot carry (summaries)."""
    from opentelemetry.sdk.metrics import export as sdk
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    resource_metrics = []
    summaries = ExportMetricsServiceRequest()
    for rm in request.resource_metrics:
        scope_metrics = []
        summary_rm = None
        for sm in rm.scope_metrics:
            regular = [mt for mt in sm.metrics if mt.WhichOneof("data") != "summary"]
            other = [mt for mt in sm.metrics if mt.WhichOneof("data") == "summary"]
            if regular:
                scope_metrics.append(
                    sdk.ScopeMetrics(
                        InstrumentationScope(sm.scope.name, sm.scope.version or None),
                        [
                            sdk.Metric(mt.name, mt.description, mt.unit, _sdk_data(mt))
                            for mt in regular
                        ],
                        "",
                    )
                )
            if other:
                if summary_rm is None:
                    summary_rm = summaries.resource_metrics.add()
                    summary_rm.resource.CopyFrom(rm.resource)
                summary_sm = summary_rm.scope_metrics.add()
                summary_sm.scope.CopyFrom(sm.scope)
                summary_sm.metrics.extend(other)
        resource_metrics.append(
            sdk.ResourceMetrics(Resource(_attrs(rm.resource.attributes)), scope_metrics, "")
        )
    return sdk.MetricsData(resource_metrics), summaries


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in kvs}


def _sdk_data(metric: Any) -> Any:
    """A gauge, sum, histogram or exponential histogram metric's data, as the SDK's."""
    from opentelemetry.sdk.metrics import export as sdk

    kind = metric.WhichOneof("data")
    if kind == "gauge":
        return sdk.Gauge([_sdk_number(p) for p in metric.gauge.data_points])
    if kind == "sum":
        return sdk.Sum(
            [_sdk_number(p) for p in metric.sum.data_points],
            sdk.AggregationTemporality(metric.sum.aggregation_temporality),
            metric.sum.is_monotonic,
        )
    if kind == "histogram":
        return sdk.Histogram(
            [_sdk_histogram_point(p) for p in metric.histogram.data_points],
            sdk.AggregationTemporality(metric.histogram.aggregation_temporality),
        )
    h = metric.exponential_histogram
    return sdk.ExponentialHistogram(
        [_sdk_exponential_point(p) for p in h.data_points],
        sdk.AggregationTemporality(h.aggregation_temporality),
    )


def _sdk_number(p: Any) -> Any:
    from opentelemetry.sdk.metrics import export as sdk

    value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
    return sdk.NumberDataPoint(
        _attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano, value
    )


def _sdk_histogram_point(p: Any) -> Any:
    from opentelemetry.sdk.metrics import Exemplar
    from opentelemetry.sdk.metrics import export as sdk

    exemplars = [
        Exemplar(
            {},
            e.as_double,
            e.time_unix_nano,
            span_id=int.from_bytes(e.span_id, "big"),
            trace_id=int.from_bytes(e.trace_id, "big"),
        )
        for e in p.exemplars
    ]
    return sdk.HistogramDataPoint(
        _attrs(p.attributes),
        p.start_time_unix_nano,
        p.time_unix_nano,
        p.count,
        p.sum,
        list(p.bucket_counts),
        list(p.explicit_bounds),
        p.min,
        p.max,
        exemplars,
    )


def _sdk_exponential_point(p: Any) -> Any:
    from opentelemetry.sdk.metrics import export as sdk

    return sdk.ExponentialHistogramDataPoint(
        _attrs(p.attributes),
        p.start_time_unix_nano,
        p.time_unix_nano,
        p.count,
        p.sum,
        p.scale,
        p.zero_count,
        sdk.Buckets(p.positive.offset, list(p.positive.bucket_counts)),
        sdk.Buckets(p.negative.offset, list(p.negative.bucket_counts)),
        p.flags,
        p.min,
        p.max,
    )
