"""Send one span, one log record and one metric through the Collector with the OTel SDK.

`otellake demo` and the stack tests use it to prove telemetry flows end to end; each probe
carries fresh ids so that a reader can find exactly its own records on a shared topic.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from otellake.settings import Settings


@dataclass(frozen=True)
class Probe:
    service_name: str
    trace_id: str
    span_name: str
    log_body: str
    metric_name: str


def send_probe(settings: Settings, service_name: str = "otellake-probe") -> Probe:
    """Export over OTLP/gRPC to the local Collector and flush everything before returning.

    Metrics: a counter (sum), a histogram, an exponential histogram and an observable gauge,
    exported once when the meter provider shuts down.
    """
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.metrics import Observation
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind

    endpoint = f"http://127.0.0.1:{settings.otlp_grpc_port}"
    tag = uuid.uuid4().hex[:8]
    resource = Resource.create({"service.name": service_name})

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True))
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint, insecure=True), export_interval_millis=60_000
    )
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[reader],
        views=[
            View(
                instrument_name="otellake.probe.latency_exp",
                aggregation=ExponentialBucketHistogramAggregation(),
            )
        ],
    )

    span_name = f"probe-span-{tag}"
    log_body = f"probe log {tag}"
    metric_name = f"otellake.probe.{tag}"
    tracer = tracer_provider.get_tracer("otellake.probe")
    # A SERVER span, as a request would make: what the analytics count by default.
    with tracer.start_as_current_span(
        span_name,
        kind=SpanKind.SERVER,
        attributes={"probe.tag": tag, "http.response.status_code": 200},
    ) as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        logger_provider.get_logger("otellake.probe").emit(
            LogRecord(body=log_body, severity_number=SeverityNumber.INFO, severity_text="INFO")
        )
    meter = meter_provider.get_meter("otellake.probe")
    meter.create_counter(metric_name).add(3, {"probe.tag": tag})
    meter.create_histogram("otellake.probe.latency").record(12.5, {"probe.tag": tag})
    meter.create_histogram("otellake.probe.latency_exp").record(3.0, {"probe.tag": tag})
    meter.create_observable_gauge(
        "otellake.probe.cpu", callbacks=[lambda _options: [Observation(0.25, {"probe.tag": tag})]]
    )
    try:
        for flushed, what in (
            (tracer_provider.force_flush(30_000), "spans"),
            (logger_provider.force_flush(30_000), "logs"),
        ):
            if not flushed:
                raise RuntimeError(f"the OTel SDK could not flush its {what} to {endpoint}")
    finally:
        tracer_provider.shutdown()
        logger_provider.shutdown()
        meter_provider.shutdown()
    return Probe(service_name, trace_id, span_name, log_body, metric_name)
