"""Known answers on the small lake, on both engines, and the engines agree."""

from __future__ import annotations

import math
from typing import Any

import pytest

from otellake.analytics import api, critical_path, slo
from otellake.analytics.dialects import DUCKDB, SPARK, Dialect
from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.analytics.queries import SpanFilter
from otellake.analytics.window import resolve_window
from otellake.settings import Settings
from tests.analytics.conftest import SPANS

WINDOW = resolve_window(None, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")


def engines(spark: Any, settings: Settings) -> list[Any]:
    return [DuckDBEngine(settings), SparkEngine(spark, settings)]


@pytest.mark.parametrize("engine_index", [0, 1], ids=["duckdb", "spark"])
def test_latency_by_service(small_lake: Settings, spark: Any, engine_index: int) -> None:
    engine = engines(spark, small_lake)[engine_index]
    rows = api.run("latency", SpanFilter(WINDOW), engine).rows
    assert [r["service_name"] for r in rows] == ["cart", "checkout"]
    cart, checkout = rows
    assert (checkout["count"], checkout["mean_ms"], checkout["max_ms"]) == (5, 30.0, 50.0)
    assert checkout["p50_ms"] == pytest.approx(30.0, rel=1e-12)
    assert checkout["p90_ms"] == pytest.approx(46.0, rel=1e-12)  # 40 + 0.6 * 10
    assert checkout["p95_ms"] == pytest.approx(48.0, rel=1e-12)
    assert checkout["p99_ms"] == pytest.approx(49.6, rel=1e-12)
    assert (cart["count"], cart["mean_ms"], cart["max_ms"]) == (2, 10.0, 15.0)
    assert cart["p90_ms"] == pytest.approx(14.0, rel=1e-12)


@pytest.mark.parametrize("engine_index", [0, 1], ids=["duckdb", "spark"])
def test_errors_by_service_and_operation(
    small_lake: Settings, spark: Any, engine_index: int
) -> None:
    engine = engines(spark, small_lake)[engine_index]
    rows = api.run("errors", SpanFilter(WINDOW), engine).rows
    assert rows == [
        {"service_name": "cart", "spans": 2, "error_spans": 1, "error_rate": 0.5, "error_logs": 0},
        {
            "service_name": "checkout",
            "spans": 5,
            "error_spans": 2,
            "error_rate": 0.4,
            "error_logs": 2,
        },
    ]
    ops = api.run("errors", SpanFilter(WINDOW, service="checkout", by="operation"), engine).rows
    assert [(r["span_name"], r["spans"], r["error_spans"], r["error_rate"]) for r in ops] == [
        ("GET /cart", 1, 1, 1.0),
        ("POST /pay", 4, 1, 0.25),
    ]
    clients = api.run("errors", SpanFilter(WINDOW, kinds=("CLIENT",)), engine).rows
    assert [(r["service_name"], r["error_spans"]) for r in clients] == [("checkout", 1)]


@pytest.mark.parametrize("engine_index", [0, 1], ids=["duckdb", "spark"])
def test_buckets_are_epoch_aligned(small_lake: Settings, spark: Any, engine_index: int) -> None:
    engine = engines(spark, small_lake)[engine_index]
    rows = api.run("errors", SpanFilter(WINDOW, service="checkout", bucket_s=300), engine).rows
    assert [(r["bucket_start"], r["spans"], r["error_spans"], r["error_logs"]) for r in rows] == [
        ("2026-01-01T00:00:00Z", 2, 1, 1),
        ("2026-01-01T00:05:00Z", 3, 1, 1),
    ]


@pytest.mark.parametrize(
    "analysis, options",
    [
        ("latency", {}),
        ("latency", {"by": "operation", "bucket_s": 60}),
        ("errors", {}),
        ("errors", {"bucket_s": 300}),
        ("errors", {"by": "operation"}),
        ("deps", {}),
        ("exceptions", {}),
        ("log-errors", {}),
        ("slo", {}),
        ("slo", {"by": "operation", "latency_threshold_ns": 300_000_000}),
        ("critical-path", {}),
        ("critical-path", {"by": "service", "slowest": 99.0}),
    ],
)
def test_small_sorted_results_are_one_partition_on_spark(
    analysis: str, options: dict[str, Any]
) -> None:
    """A final ORDER BY over a few aggregated rows: on Spark the SELECT under it carries the
    one-partition hint (else the sort samples the aggregation's output in a job of its own,
    running the final aggregation twice); DuckDB's SQL has no hint at all."""
    f = SpanFilter(WINDOW, **options)
    spark_sql = final_sql(analysis, f, SPARK)
    hint = SPARK.small_result_hint()
    assert hint == "/*+ REPARTITION(1) */"
    assert spark_sql.count(hint) == 1
    # on the outermost SELECT, the one the outermost ORDER BY sorts (outside every parenthesis)
    before_hint = spark_sql[: spark_sql.index(hint)]
    before_sort = spark_sql[: spark_sql.rindex("ORDER BY")]
    assert before_hint.rstrip().endswith("SELECT")
    assert before_hint.count("(") == before_hint.count(")")
    assert before_sort.count("(") == before_sort.count(")")
    assert "/*+" not in final_sql(analysis, f, DUCKDB)


def final_sql(analysis: str, f: SpanFilter, d: Dialect) -> str:
    """The SQL of the query whose rows are the analysis's answer (slo's counts, the critical
    path's rows after its materialized steps)."""
    if analysis == "slo":
        return slo.counts_query(f, d).sql
    if analysis == "critical-path":
        return critical_path.plan(f, d).rows
    return api.SQL_ANALYSES[analysis](f, d).sql


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0) or a == b
    return bool(a == b)


def test_engines_agree_on_every_variant(small_lake: Settings, spark: Any) -> None:
    duck, sp = engines(spark, small_lake)
    for analysis in ("errors", "latency", "exceptions"):  # the rest: test_more_analyses
        for by in ("service", "operation"):
            for bucket in (None, 60, 3600):
                for root_only in (False, True):
                    f = SpanFilter(WINDOW, by=by, bucket_s=bucket, root_only=root_only)  # type: ignore[arg-type]
                    a = api.run(analysis, f, duck).rows
                    b = api.run(analysis, f, sp).rows
                    assert len(a) == len(b) > 0, (analysis, by, bucket)
                    for ra, rb in zip(a, b, strict=True):
                        assert ra.keys() == rb.keys()
                        assert all(_close(ra[k], rb[k]) for k in ra), (analysis, ra, rb)


@pytest.mark.parametrize("engine_index", [0, 1], ids=["duckdb", "spark"])
def test_exceptions_from_span_events(small_lake: Settings, spark: Any, engine_index: int) -> None:
    from otellake.analytics.queries import SPAN_KINDS

    engine = engines(spark, small_lake)[engine_index]
    rows = api.run("exceptions", SpanFilter(WINDOW, kinds=SPAN_KINDS), engine).rows
    assert [
        {
            k: r[k]
            for k in (
                "exception_type",
                "exception_message",
                "count",
                "services",
                "first_seen",
                "last_seen",
            )
        }
        for r in rows
    ] == [
        {
            "exception_type": "ValueError",
            "exception_message": "card declined",
            "count": 2,
            "services": "checkout",
            "first_seen": "2026-01-01T00:02:00Z",
            "last_seen": "2026-01-01T00:03:30Z",
        },
        {
            "exception_type": "KeyError",
            "exception_message": "missing",
            "count": 1,
            "services": "cart",
            "first_seen": "2026-01-01T00:12:00Z",
            "last_seen": "2026-01-01T00:12:00Z",
        },
    ]
    assert rows[0]["sample_trace_id"] == min(
        s["trace_id"]
        for s in SPANS
        if any(
            e["name"] == "exception" and e["attributes"]["exception.message"] == "card declined"
            for e in s["events"]
        )
    )
