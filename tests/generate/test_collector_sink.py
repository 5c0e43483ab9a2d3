"""The Collector sink's conversion of OTLP metrics to the SDK's (what it sends through the
SDK's exporter): every type the SDK carries arrives as it was; summaries are set apart."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from otellake.generate.collector_sink import to_sdk_metrics
from tests.generate.records import assert_rows_equal, metric_points
from tests.otlp_builders import attrs, metrics_request

T0, T1 = 1_700_000_000_000_000_000, 1_700_000_060_000_000_000
CUMULATIVE = m.AGGREGATION_TEMPORALITY_CUMULATIVE


def _every_type() -> ExportMetricsServiceRequest:
    labels = attrs({"route": "/cart"})
    gauge = m.Metric(
        name="g",
        unit="1",
        gauge=m.Gauge(
            # a gauge has no start time (the SDK's encoder writes none, as the generator)
            data_points=[m.NumberDataPoint(time_unix_nano=T1, as_int=7)]
        ),
    )
    total = m.Metric(
        name="s",
        unit="By",
        sum=m.Sum(
            data_points=[
                m.NumberDataPoint(
                    start_time_unix_nano=T0, time_unix_nano=T1, as_double=2.5, attributes=labels
                )
            ],
            aggregation_temporality=CUMULATIVE,
            is_monotonic=True,
        ),
    )
    histogram = m.Metric(
        name="h",
        unit="ms",
        histogram=m.Histogram(
            data_points=[
                m.HistogramDataPoint(
                    start_time_unix_nano=T0,
                    time_unix_nano=T1,
                    count=3,
                    sum=12.0,
                    bucket_counts=[1, 2, 0],
                    explicit_bounds=[5.0, 10.0],
                    min=1.0,
                    max=9.0,
                    attributes=labels,
                )
            ],
            aggregation_temporality=CUMULATIVE,
        ),
    )
    exponential = m.Metric(
        name="e",
        unit="ms",
        exponential_histogram=m.ExponentialHistogram(
            data_points=[
                m.ExponentialHistogramDataPoint(
                    start_time_unix_nano=T0,
                    time_unix_nano=T1,
                    count=4,
                    sum=10.0,
                    scale=2,
                    zero_count=1,
                    positive=m.ExponentialHistogramDataPoint.Buckets(
                        offset=3, bucket_counts=[1, 2]
                    ),
                    min=0.0,
                    max=5.0,
                )
            ],
            aggregation_temporality=CUMULATIVE,
        ),
    )
    summary = m.Metric(
        name="q",
        unit="ms",
        summary=m.Summary(
            data_points=[
                m.SummaryDataPoint(
                    start_time_unix_nano=T0,
                    time_unix_nano=T1,
                    count=2,
                    sum=3.0,
                    quantile_values=[m.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=1.5)],
                )
            ]
        ),
    )
    resource = {"service.name": "cart", "service.instance.id": "cart-1"}
    return metrics_request(
        [
            (resource, [("sc", "1", [gauge, total, histogram, exponential, summary])]),
            (resource | {"service.instance.id": "cart-2"}, [("sc", "1", [gauge])]),
        ]
    )


def test_every_type_arrives_as_it_was_and_summaries_are_set_apart() -> None:
    request = _every_type()
    data, summaries = to_sdk_metrics(request)
    sent = metric_points([encode_metrics(data)])
    original = metric_points([request])
    assert_rows_equal(sent, [p for p in original if p["type"] != "summary"])
    assert_rows_equal(metric_points([summaries]), [p for p in original if p["type"] == "summary"])
    assert len(sent) == 5
