"""`latency`'s exact percentiles. Spark's formulation (each group's durations sorted once,
``Dialect.sorted_percentiles``) is checked on DuckDB too (its list functions), against the
generator's truth to the bit, and against DuckDB's ``quantile_cont`` to the last bit or so:
DuckDB interpolates as ``lo * (1 - d) + hi * d`` compiled to a fused multiply-add, which SQL
cannot spell, so the two may differ in the last place (never more than 1e-15 relative; the
contract allows 1e-9). The groups are where a rewrite could go wrong: one span, two, ties, NULL
durations (ignored by the percentiles, counted by ``count``), a group with no duration at all,
percentiles that land exactly on a rank or between the last two, and groups that sort next to
each other (the positions restart per group and per bucket).

The lake is written with delta-rs (as the benchmark's): no Spark write to wait for.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from otellake import lake, schemas
from otellake.analytics import api
from otellake.analytics.dialects import DUCKDB, SPARK
from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.analytics.queries import PERCENTILES, SpanFilter
from otellake.analytics.window import resolve_window
from otellake.benchmark.analytics_lake import arrow_type
from otellake.generate.truth import percentile
from otellake.settings import Settings
from tests.analytics.conftest import span_row

WINDOW = resolve_window(None, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
RNG = random.Random(17)
# operation -> durations in ms (None: a span without a duration); minutes spread each group
# over both halves of the hour (two 30-minute buckets... and one bucket for the small ones)
GROUPS: dict[str, list[float | None]] = {
    "one": [7.0],
    "two": [20.0, 10.0],
    "ties": [30.0] * 5,
    "ties-mixed": [5.0, 9.0, 5.0, 12.0, 9.0, 5.0],
    "nulls": [None, 3.0, 1.0, None, 2.0],
    "no-duration": [None, None],
    # n - 1 = 100: p50, p90, p95, p99 land exactly on a rank
    "on-rank": [float(RNG.randint(1, 10_000)) for _ in range(101)],
    # many, with fractional ms and repeats: p99 between the last two ranks
    "many": [RNG.choice([0.5, 1.25, 3.0]) * RNG.randint(1, 400) for _ in range(1_000)],
    # interleaves with "many" in value, so a sort that mixed groups would show
    "interleaved": [RNG.uniform(0.1, 500.0) for _ in range(333)],
}


def rows() -> list[dict[str, Any]]:
    out = []
    for name, durations in GROUPS.items():
        service = "solo" if name in ("one", "no-duration") else "shop"
        for i, ms in enumerate(durations):
            minute = (i * 7.3) % 59
            row = span_row(service, name, "SERVER", minute, ms or 0.0)
            row["span_id"] = f"{len(out):016x}"
            if ms is None:
                row["duration_ns"] = None
            out.append(row)
    return out


@pytest.fixture(scope="module")
def pct_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from deltalake import write_deltalake

    home: Path = tmp_path_factory.mktemp("percentiles")
    settings = Settings(home=home, lake=str(home / "lake"))  # type: ignore[call-arg]
    fields = schemas.table("spans").spark_schema().fields
    schema = pa.schema([pa.field(f.name, arrow_type(f.dataType)) for f in fields])
    table = pa.Table.from_pylist(rows(), schema)
    write_deltalake(lake.table_path(settings, "spans"), table, partition_by=["date"])
    return settings


FILTERS = [
    SpanFilter(WINDOW, by="operation"),
    SpanFilter(WINDOW, by="service"),
    SpanFilter(WINDOW, by="operation", bucket_s=1800),
    SpanFilter(WINDOW, by="service", bucket_s=60),
]


def truth(by: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """Per group: count, and the percentiles in the float operations of quantile_cont."""
    groups: dict[tuple[str, ...], list[float | None]] = {}
    for row in rows():
        key = (row["service_name"],) + ((row["span_name"],) if by == "operation" else ())
        d = row["duration_ns"]
        groups.setdefault(key, []).append(None if d is None else float(d))
    out = {}
    for key, values in groups.items():
        ordered = sorted(v for v in values if v is not None)
        figures: dict[str, Any] = {"count": len(values)}
        for p in PERCENTILES:
            name = f"p{int(p * 100)}_ms"
            figures[name] = percentile(ordered, p) / 1e6 if ordered else None
        out[key] = figures
    return out


def _close(a: Any, b: Any, rel: float = 1e-15) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)
    return bool(a == b)


def sorted_on_duckdb(settings: Settings) -> DuckDBEngine:
    engine = DuckDBEngine(settings)
    engine.dialect = replace(DUCKDB, sorted_percentiles=True)
    return engine


def test_sorted_percentiles_are_duckdbs_quantile_cont(pct_lake: Settings) -> None:
    plain, ranked = DuckDBEngine(pct_lake), sorted_on_duckdb(pct_lake)
    assert SPARK.sorted_percentiles and not DUCKDB.sorted_percentiles
    for f in FILTERS:
        want = api.run("latency", f, plain).rows
        got = api.run("latency", f, ranked).rows
        assert len(got) == len(want) > 0, f
        for a, b in zip(want, got, strict=True):
            assert a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a), (a, b)


@pytest.mark.parametrize("by", ["operation", "service"])
def test_sorted_percentiles_are_the_truth_to_the_bit(pct_lake: Settings, by: str) -> None:
    want = truth(by)
    f = SpanFilter(WINDOW, by=by)  # type: ignore[arg-type]
    got = api.run("latency", f, sorted_on_duckdb(pct_lake)).rows
    keys = ("service_name", "span_name") if by == "operation" else ("service_name",)
    assert {tuple(r[k] for k in keys) for r in got} == set(want)
    for r in got:
        expected = want[tuple(r[k] for k in keys)]
        assert {k: r[k] for k in expected} == expected, r
    if by == "operation":
        by_name = {r["span_name"]: r for r in got}
        assert by_name["no-duration"]["mean_ms"] is None
        assert by_name["no-duration"]["count"] == 2
        assert by_name["nulls"]["count"] == 5 and by_name["nulls"]["p50_ms"] == 2.0
        assert by_name["ties"]["p99_ms"] == 30.0 and by_name["one"]["p90_ms"] == 7.0
        assert by_name["two"]["p99_ms"] == pytest.approx(19.9, rel=1e-12)


def test_spark_gives_the_same_percentiles(pct_lake: Settings, spark: Any) -> None:
    """To the bit as the same formulation on DuckDB, to the last place or so as quantile_cont."""
    plain, ranked = DuckDBEngine(pct_lake), sorted_on_duckdb(pct_lake)
    sp = SparkEngine(spark, pct_lake)
    for f in FILTERS:
        got = api.run("latency", f, sp).rows
        for want, exact in ((api.run("latency", f, ranked).rows, True),
                            (api.run("latency", f, plain).rows, False)):  # fmt: skip
            assert len(got) == len(want) > 0, f
            for a, b in zip(want, got, strict=True):
                assert a.keys() == b.keys()
                # the mean is a sum in another order on each engine
                assert all(_close(a[k], b[k], 1e-12 if k == "mean_ms" else 1e-15) for k in a)
                if exact:
                    assert {k: v for k, v in a.items() if k != "mean_ms"} == {
                        k: v for k, v in b.items() if k != "mean_ms"
                    }, (f, a, b)
