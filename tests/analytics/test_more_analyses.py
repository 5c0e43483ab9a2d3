"""Known answers for log-errors, deps, trace, search and metrics on day two of the small lake,
on both engines."""

from __future__ import annotations

import math
from typing import Any

import pytest

from otellake.analytics import api, search
from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.errors import BadInput
from otellake.settings import Settings
from tests.analytics import shop_day
from tests.analytics.shop_day import TRACE_A, TRACE_B, TRACE_C, sid

DAY2 = {"start": "2026-01-02T00:00:00Z", "end": "2026-01-02T01:00:00Z"}
ENGINES = pytest.mark.parametrize("engine_index", [0, 1], ids=["duckdb", "spark"])


def engine_for(spark: Any, settings: Settings, index: int) -> Any:
    return DuckDBEngine(settings) if index == 0 else SparkEngine(spark, settings)


def run(engine: Any, analysis: str, **options: Any) -> api.Result:
    return api.run(analysis, api.make_filter(analysis, **(DAY2 | options)), engine)


@ENGINES
def test_log_error_templates(small_lake: Settings, spark: Any, engine_index: int) -> None:
    engine = engine_for(spark, small_lake, engine_index)
    rows = run(engine, "log-errors").rows
    assert [(r["template"], r["count"], r["services"]) for r in rows] == shop_day.TEMPLATES
    payment = rows[0]
    assert payment["sample_body"] == 'payment 1234 failed for user "bob"'  # the smallest body
    assert payment["sample_trace_id"] == TRACE_A
    assert (payment["first_seen"], payment["last_seen"]) == (
        "2026-01-02T00:00:00Z",
        "2026-01-02T00:03:00Z",
    )
    assert rows[1]["sample_trace_id"] == ""  # none of its logs carries a trace id
    only = run(engine, "log-errors", service="shipping").rows
    assert [r["template"] for r in only] == ["order <uuid> can't ship to <str>"]


@ENGINES
def test_dependency_edges(small_lake: Settings, spark: Any, engine_index: int) -> None:
    engine = engine_for(spark, small_lake, engine_index)
    rows = run(engine, "deps").rows
    edges = {
        (r["caller"], r["callee"]): (r["is_virtual"], r["calls"], r["errors"], r["error_rate"])
        for r in rows
    }
    assert edges == {
        ("checkout", "postgresql"): (True, 1, 0, 0.0),  # db.system.name before server.address
        ("checkout", "redis"): (True, 1, 1, 1.0),  # legacy db.system
        ("checkout", "shipping"): (False, 1, 0, 0.0),  # PRODUCER → CONSUMER
        ("frontend", "checkout"): (False, 1, 0, 0.0),
        ("frontend", "product-catalog"): (False, 2, 0, 0.0),
        ("product-catalog", "cache-1"): (True, 1, 0, 0.0),  # server.address
    }  # "mystery" names no callee; "publish audit" has no consumer: no edges
    p95 = {(r["caller"], r["callee"]): r["p95_ms"] for r in rows}
    assert p95[("frontend", "product-catalog")] == pytest.approx(39.0, rel=1e-12)  # 20 + .95*20
    assert p95[("checkout", "postgresql")] == pytest.approx(10.0, rel=1e-12)
    assert [r["caller"] for r in rows] == sorted(r["caller"] for r in rows)
    touching = run(engine, "deps", service="checkout").rows
    assert {(r["caller"], r["callee"]) for r in touching} == {
        ("checkout", "postgresql"),
        ("checkout", "redis"),
        ("checkout", "shipping"),
        ("frontend", "checkout"),
    }


@ENGINES
def test_trace_in_tree_order_with_orphans_and_logs(
    small_lake: Settings, spark: Any, engine_index: int
) -> None:
    engine = engine_for(spark, small_lake, engine_index)
    result = run(engine, "trace", trace_id=TRACE_A.upper())  # ids are case-insensitive
    assert [(r["span_id"], r["depth"]) for r in result.rows] == [
        (sid(n), depth) for n, depth in shop_day.TRACE_A_ORDER
    ]
    first = result.rows[0]
    assert (first["service_name"], first["span_name"], first["duration_ms"]) == (
        "frontend",
        "GET /",
        100.0,
    )
    assert [r["is_error"] for r in result.rows].count(True) == 1
    assert result.window == {"from": "2026-01-02T00:00:00Z", "to": "2026-01-03T00:00:00Z"}
    assert [(log["span_id"], log["severity_number"]) for log in result.extra["logs"]] == [
        (sid(3), 9),
        (sid(5), 17),
    ]  # same time: ordered by span id
    missing = run(engine, "trace", trace_id="1" * 32)
    assert missing.rows == [] and missing.extra == {"logs": []}


@pytest.mark.parametrize("bad", ["xyz", "a" * 31, "0" * 32, "g" * 32, ""])
def test_malformed_trace_ids(small_lake: Settings, bad: str) -> None:
    with pytest.raises(BadInput, match="trace id"):
        run(DuckDBEngine(small_lake), "trace", trace_id=bad)


@ENGINES
def test_search_filters(small_lake: Settings, spark: Any, engine_index: int) -> None:
    engine = engine_for(spark, small_lake, engine_index)

    def ids(**options: Any) -> list[str]:
        return [r["trace_id"] for r in run(engine, "search", **options).rows]

    assert ids() == [TRACE_C, TRACE_B, TRACE_A]  # newest first
    assert ids(service="checkout") == [TRACE_C, TRACE_A]
    assert ids(attrs=["db.system.name=postgresql"]) == [TRACE_A]
    assert ids(attrs=["db.system.name=postgresql", "server.address=db1"]) == [TRACE_A]
    assert ids(attrs=["db.system.name=postgresql", "server.address=db2"]) == []
    assert ids(attrs=["service.name=shipping"]) == [TRACE_C]  # a resource attribute
    assert ids(min_duration="90ms") == [TRACE_A]
    assert ids(min_duration="60ms") == [TRACE_B, TRACE_A]
    assert ids(status="error") == [TRACE_A]
    assert ids(name="GetProduct", kinds="SERVER") == [TRACE_B]
    assert ids(name="GetProduct", kinds="INTERNAL") == []
    assert ids(limit=1) == [TRACE_C]
    assert ids(attrs=["peer.service=x' OR '1'='1"]) == []  # a value, never SQL
    (a,) = run(engine, "search", attrs=["db.system=redis"]).rows
    assert a == {
        "trace_id": TRACE_A,
        "root_service_name": "frontend",
        "root_span_name": "GET /",
        "start_time": "2026-01-02T00:00:00Z",
        "duration_ms": 100.0,
        "span_count": 7,
        "error_count": 1,
        "matched_spans": 1,
    }


@ENGINES
def test_search_summaries_of_many_ids(small_lake: Settings, spark: Any, engine_index: int) -> None:
    """More ids than one IN list holds (search writes them as several short lists): every
    known trace is summarised once, ids the lake lacks add nothing."""
    engine = engine_for(spark, small_lake, engine_index)
    absent = [f"{i:032x}" for i in range(1, 11)]
    ids = [*absent[:4], TRACE_C, *absent[4:], TRACE_A, TRACE_B]
    assert len(ids) > 2 * search.IDS_PER_LIST
    query = search.summaries(ids, api.make_filter("search", **DAY2), engine.dialect)
    rows = engine.query(query.sql, query.params, query.tables)
    assert sorted((r["trace_id"], r["root_span_name"], r["span_count"]) for r in rows) == [
        (TRACE_A, "GET /", 7),
        (TRACE_B, "GET /product", 7),
        (TRACE_C, "POST /order", 4),
    ]


@ENGINES
def test_metrics_percentiles_and_rates(small_lake: Settings, spark: Any, engine_index: int) -> None:
    engine = engine_for(spark, small_lake, engine_index)
    rows = {r["metric_name"]: r for r in run(engine, "metrics").rows}
    assert sorted(rows) == ["bytes", "http.server.request.duration", "jobs", "latency.exp",
                            "requests", "rpc.duration"]  # fmt: skip  # queue.size: not monotonic
    http = rows["http.server.request.duration"]
    assert (http["count"], http["sum"], http["points"], http["unit"]) == (10, 5.5, 2, "s")
    assert [http[p] for p in ("p50", "p90", "p95", "p99")] == pytest.approx(
        [0.4, 1.0, 1.5, 1.9], rel=1e-12
    )
    assert http["rate_per_s"] == pytest.approx(10 / 3600, rel=1e-12)
    assert http["attributes"] == '{"http.route":"/"}'
    rpc = rows["rpc.duration"]  # cumulative with a reset, no min/max
    assert (rpc["count"], rpc["sum"]) == (5, 30.0)
    assert [rpc["p50"], rpc["p90"]] == pytest.approx([6.25, 10.0], rel=1e-12)
    exp = rows["latency.exp"]  # two scales, merged at scale 0
    assert exp["count"] == 8
    assert [exp[p] for p in ("p50", "p90", "p95", "p99")] == pytest.approx(
        [2.0, 2.8, 2.9, 2.98], rel=1e-12
    )
    assert rows["requests"]["increase"] == 13.0  # 15-10, reset to 3, 8-3
    assert rows["requests"]["rate_per_s"] == pytest.approx(13 / 3600, rel=1e-12)
    assert rows["bytes"]["increase"] == 100.0  # delta; the point at minute 61 is outside
    assert rows["jobs"]["increase"] == 6.0  # started inside the window: its first point counts


@ENGINES
def test_metric_rates_per_bucket(small_lake: Settings, spark: Any, engine_index: int) -> None:
    engine = engine_for(spark, small_lake, engine_index)
    rows = run(engine, "metrics", metric="requests", bucket="1m").rows
    assert [(r["bucket_start"][11:16], r["increase"], r["rate_per_s"]) for r in rows] == [
        ("00:01", 0.0, 0.0),
        ("00:02", 5.0, 5 / 60),
        ("00:03", 3.0, 3 / 60),
        ("00:04", 5.0, 5 / 60),
    ]


def test_engines_agree_on_every_analysis(small_lake: Settings, spark: Any) -> None:
    duck, sp = DuckDBEngine(small_lake), SparkEngine(spark, small_lake)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("log-errors", {}),
        ("log-errors", {"service": "checkout"}),
        ("deps", {}),
        ("search", {}),
        ("search", {"attrs": ["db.system=redis"], "status": "ERROR"}),
        ("trace", {"trace_id": TRACE_B}),
        ("trace", {"trace_id": TRACE_C}),
        ("metrics", {}),
        ("metrics", {"bucket": "1m"}),
    ]
    for analysis, options in cases:
        a, b = run(duck, analysis, **options), run(sp, analysis, **options)
        assert a.rows, (analysis, options)
        assert same(a.as_json() | {"engine": ""}, b.as_json() | {"engine": ""}), (
            analysis,
            options,
            a.rows,
            b.rows,
        )


def same(a: Any, b: Any) -> bool:
    """Equal, with floats within 1e-9 relative, through nested dicts and lists."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9) or a == b
    return type(a) is type(b) and a == b
