"""Hand-built ExportMetricsServiceRequest records -> every column of the five metric tables."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from otellake.settings import Settings
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.otlp_builders import attrs, metrics_request, span_id, trace_id

T0 = 1_700_000_000_000_000_000
T = T0 + 60 * 10**9
CUMULATIVE = m.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
DELTA = m.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA


def _metrics(tid: bytes, sid: bytes) -> list[m.Metric]:
    exemplar_d = m.Exemplar(
        time_unix_nano=T - 5,
        as_double=0.75,
        trace_id=tid,
        span_id=sid,
        filtered_attributes=attrs({"user": "u1"}),
    )
    exemplar_i = m.Exemplar(time_unix_nano=T - 6, as_int=9)
    point = dict(start_time_unix_nano=T0, time_unix_nano=T)
    return [
        m.Metric(
            name="cpu",
            description="cpu use",
            unit="1",
            gauge=m.Gauge(
                data_points=[
                    m.NumberDataPoint(
                        as_double=0.5,
                        attributes=attrs({"core": 0}),
                        exemplars=[exemplar_d],
                        **point,
                    )
                ]
            ),
        ),
        m.Metric(
            name="threads",
            gauge=m.Gauge(data_points=[m.NumberDataPoint(as_int=12, flags=1, **point)]),
        ),
        m.Metric(
            name="requests",
            unit="{request}",
            sum=m.Sum(
                aggregation_temporality=CUMULATIVE,
                is_monotonic=True,
                data_points=[m.NumberDataPoint(as_int=10, exemplars=[exemplar_i], **point)],
            ),
        ),
        m.Metric(
            name="queue",
            sum=m.Sum(
                aggregation_temporality=DELTA,
                is_monotonic=False,
                data_points=[m.NumberDataPoint(as_double=-3.5, **point)],
            ),
        ),
        m.Metric(
            name="latency",
            unit="ms",
            histogram=m.Histogram(
                aggregation_temporality=DELTA,
                data_points=[
                    m.HistogramDataPoint(
                        count=3,
                        sum=6.0,
                        min=1.0,
                        max=3.0,
                        bucket_counts=[1, 1, 1],
                        explicit_bounds=[1.5, 2.5],
                        attributes=attrs({"p": "full"}),
                        exemplars=[exemplar_d],
                        **point,
                    ),
                    m.HistogramDataPoint(
                        count=2, bucket_counts=[2], attributes=attrs({"p": "bare"}), **point
                    ),
                ],
            ),
        ),
        m.Metric(
            name="latency_exp",
            exponential_histogram=m.ExponentialHistogram(
                aggregation_temporality=CUMULATIVE,
                data_points=[
                    m.ExponentialHistogramDataPoint(
                        count=8,
                        sum=10.5,
                        min=-5.0,
                        max=7.0,
                        scale=2,
                        zero_count=1,
                        zero_threshold=0.001,
                        positive=m.ExponentialHistogramDataPoint.Buckets(
                            offset=-2, bucket_counts=[1, 2]
                        ),
                        negative=m.ExponentialHistogramDataPoint.Buckets(
                            offset=3, bucket_counts=[4]
                        ),
                        **point,
                    )
                ],
            ),
        ),
        m.Metric(
            name="rpc",
            summary=m.Summary(
                data_points=[
                    m.SummaryDataPoint(
                        count=4,
                        sum=10.0,
                        quantile_values=[
                            m.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=2.0),
                            m.SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=5.0),
                        ],
                        **point,
                    )
                ]
            ),
        ),
        m.Metric(name="nothing"),
    ]


def test_every_metric_type_round_trips(lake_settings: Settings, spark: Any) -> None:
    tid, sid = trace_id(), span_id()
    request = metrics_request(
        [({"service.name": "api", "host": "h"}, [("meter", "1.0", _metrics(tid, sid))])]
    )
    produce(lake_settings, lake_settings.topic_metrics, [request.SerializeToString()])
    ingest_now(spark, lake_settings, signals=("metrics",))

    def rows(table: str) -> dict[str, Any]:
        df = read_table(spark, lake_settings, table).selectExpr(
            "*", "unix_micros(timestamp) AS micros"
        )
        return {r.metric_name + ":" + r.attributes.get("p", ""): r for r in df.collect()}

    gauge = rows("metrics_gauge")
    assert sorted(gauge) == ["cpu:", "threads:"]
    cpu = gauge["cpu:"]
    assert (cpu.service_name, cpu.metric_description, cpu.metric_unit) == ("api", "cpu use", "1")
    assert cpu.resource_attributes == {"service.name": "api", "host": "h"}
    assert (cpu.scope_name, cpu.scope_version) == ("meter", "1.0")
    assert cpu.attributes == {"core": "0"}
    assert (cpu.start_time_unix_nano, cpu.time_unix_nano, cpu.micros) == (T0, T, T // 1000)
    assert (cpu.value, cpu.flags) == (0.5, 0)
    assert cpu.date.isoformat() == "2023-11-14"
    [ex] = cpu.exemplars
    assert (ex.time_unix_nano, ex.value, ex.trace_id, ex.span_id, ex.filtered_attributes) == (
        T - 5,
        0.75,
        tid.hex(),
        sid.hex(),
        {"user": "u1"},
    )
    assert (gauge["threads:"].value, gauge["threads:"].flags) == (12.0, 1)

    sums = rows("metrics_sum")
    req = sums["requests:"]
    assert (req.value, req.aggregation_temporality, req.is_monotonic) == (10.0, "CUMULATIVE", True)
    assert [(e.value, e.trace_id, e.span_id) for e in req.exemplars] == [(9.0, "", "")]
    queue = sums["queue:"]
    assert (queue.value, queue.aggregation_temporality, queue.is_monotonic) == (
        -3.5,
        "DELTA",
        False,
    )

    hist = rows("metrics_histogram")
    full, bare = hist["latency:full"], hist["latency:bare"]
    assert (full["count"], full.sum, full.min, full.max) == (3, 6.0, 1.0, 3.0)
    assert (full.bucket_counts, full.explicit_bounds) == ([1, 1, 1], [1.5, 2.5])
    assert (full.aggregation_temporality, full.metric_unit) == ("DELTA", "ms")
    assert len(full.exemplars) == 1
    assert (bare["count"], bare.sum, bare.min, bare.max) == (2, None, None, None)
    assert (bare.bucket_counts, bare.explicit_bounds, bare.exemplars) == ([2], [], [])

    [exp] = rows("metrics_exp_histogram").values()
    assert (exp["count"], exp.sum, exp.min, exp.max, exp.scale) == (8, 10.5, -5.0, 7.0, 2)
    assert (exp.zero_count, exp.zero_threshold) == (1, 0.001)
    assert (exp.positive_offset, exp.positive_bucket_counts) == (-2, [1, 2])
    assert (exp.negative_offset, exp.negative_bucket_counts) == (3, [4])
    assert exp.aggregation_temporality == "CUMULATIVE"

    [summary] = rows("metrics_summary").values()
    assert (summary["count"], summary.sum) == (4, 10.0)
    assert [(q.quantile, q.value) for q in summary.quantile_values] == [(0.5, 2.0), (0.99, 5.0)]

    [bad] = read_table(spark, lake_settings, "quarantine").collect()
    assert (bad.reason, bad.item_path) == (
        "no_data",
        "resource_metrics[0].scope_metrics[0].metrics[7]",
    )
