"""The Parquet footer facts (``footers.py``) and the predicates they simplify: a part is left
out only where no file can make it true, and the answers stay those of the full predicate.

(The search and error-rule answers on lakes of every layout, with the facts in use, are
tests/analytics/test_dedicated_attributes.py's; these are the corner cases of the facts.)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otellake import lake, schemas
from otellake.analytics import api, attributes, footers, queries, search
from otellake.analytics.dialects import DUCKDB
from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.analytics.footers import UNKNOWN, Facts
from otellake.benchmark.analytics_lake import arrow_type
from otellake.settings import Settings
from tests.analytics.shop_day import MIN, span

DAY = date(2026, 1, 2)
WINDOW = {"start": "2026-01-02T00:00:00Z", "end": "2026-01-02T01:00:00Z"}


def write(path: Path, rows: list[dict[str, Any]]) -> str:
    """A data file as a writer leaves it under ``date=.../`` (no Delta log needed here)."""
    fields = {f.name: f for f in schemas.table("spans").spark_schema().fields}
    cols = [c for c in schemas.table("spans").columns if c != "date"]
    schema = pa.schema([pa.field(c, arrow_type(fields[c].dataType)) for c in cols])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows], schema), path)
    return str(path)


def row(n: int, **extra: Any) -> dict[str, Any]:
    return span(f"{n:032x}", n, "", "shop", "GET /", "SERVER", n * MIN, 5, **extra)


def test_key_ranges_and_nulls_from_a_footer(tmp_path: Path) -> None:
    a = write(
        tmp_path / "date=2026-01-02/a.parquet",
        [
            row(1, resource_attributes={"service.name": "shop"}, http_route="/a"),
            row(2, resource_attributes={"service.name": "shop", "service.version": "1"}),
        ],
    )
    facts = footers.facts([a], DAY, DAY)
    assert not facts.may_hold("resource_attributes", "http.route")  # outside service.*
    assert facts.may_hold("resource_attributes", "service.name")
    assert facts.may_hold("resource_attributes", "service.namf")  # inside the range: may
    assert not facts.may_hold("span_attributes", "http.route")  # every span map is empty
    assert facts.may_be_null("http_route")  # row 2 has none
    assert facts.may_be_null("host_name")
    b = write(tmp_path / "date=2026-01-02/b.parquet", [row(3, http_route="/b")])
    assert not footers.facts([b], DAY, DAY).may_be_null("http_route")
    assert footers.facts([a, b], DAY, DAY).may_be_null("http_route")
    # a file of another day is not read
    c = write(
        tmp_path / "date=2026-01-03/c.parquet",
        [row(4, resource_attributes={"http.route": "/c"})],
    )
    assert not footers.facts([a, c], DAY, DAY).may_hold("resource_attributes", "http.route")
    assert footers.facts([a, c], DAY, date(2026, 1, 3)).may_hold(
        "resource_attributes", "http.route"
    )
    # a file whose day the path does not tell is always counted in
    d = write(tmp_path / "elsewhere/d.parquet", [row(5, resource_attributes={"http.route": "/"})])
    assert footers.facts([a, d], DAY, DAY).may_hold("resource_attributes", "http.route")


def test_a_column_the_file_lacks_reads_as_null(tmp_path: Path) -> None:
    """A file written before the dedicated columns existed (schema version 1)."""
    path = tmp_path / "date=2026-01-02/v1.parquet"
    path.parent.mkdir(parents=True)
    schema = pa.schema(
        [("trace_id", pa.string()), ("resource_attributes", pa.map_(pa.string(), pa.string()))]
    )
    table = pa.table({"trace_id": ["a"], "resource_attributes": [[("service.name", "x")]]}, schema)
    pq.write_table(table, path)
    facts = footers.facts([str(path)], DAY, DAY)
    assert facts.may_be_null("http_route")
    assert not facts.may_hold("resource_attributes", "http.route")
    assert facts.may_hold("span_attributes", "http.route")  # no such column here: may


def test_no_statistics_means_may(tmp_path: Path) -> None:
    path = tmp_path / "date=2026-01-02/plain.parquet"
    path.parent.mkdir(parents=True)
    fields = {f.name: f for f in schemas.table("spans").spark_schema().fields}
    cols = ["trace_id", "http_route", "resource_attributes"]
    schema = pa.schema([pa.field(c, arrow_type(fields[c].dataType)) for c in cols])
    table = pa.Table.from_pylist(
        [{"trace_id": "a", "http_route": "/", "resource_attributes": {"service.name": "x"}}], schema
    )
    pq.write_table(table, path, write_statistics=False)
    facts = footers.facts([str(path)], DAY, DAY)
    assert facts.may_be_null("http_route")
    assert facts.may_hold("resource_attributes", "http.route")


def test_the_predicates_leave_out_only_what_cannot_hold() -> None:
    nothing = Facts(())  # no file at all: nothing can match, nothing is NULL
    params: dict[str, Any] = {}
    assert attributes.any_map_equals_sql("app.x", "1", params, "a", nothing) == "(false)"
    assert params == {}
    params = {}
    sql = attributes.any_map_equals_sql("http.route", "/x", params, "a", nothing)
    assert sql == "(http_route = :a_value)" and params == {"a_value": "/x"}
    params = {}
    sql = attributes.any_map_equals_sql("http.response.status_code", "0503", params, "a", nothing)
    assert sql == "(false)" and params == {}  # not canonical: only a map could hold it
    assert queries.is_error_span(nothing) == (
        "(status_code = 'ERROR' OR (span_kind = 'SERVER' AND "
        "coalesce(http_response_status_code BETWEEN 500 AND 599, false)))"
    )
    assert queries.is_error_span(UNKNOWN) == queries.is_error_span()


@pytest.fixture(scope="module")
def two_files(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Day two: one file whose resource maps cannot hold `http.route`, one whose can."""
    from deltalake import write_deltalake

    home: Path = tmp_path_factory.mktemp("facts")
    settings = Settings(home=home, lake=str(home / "lake"))  # type: ignore[call-arg]
    fields = schemas.table("spans").spark_schema().fields
    schema = pa.schema([pa.field(f.name, arrow_type(f.dataType)) for f in fields])
    path = lake.table_path(settings, "spans")
    first = [row(1, http_route="/a", http_response_status_code=200),
             row(2, http_route="/b", http_response_status_code=503)]  # fmt: skip
    second = [row(3, resource_attributes={"service.name": "shop", "http.route": "/a"}),
              row(4, span_attributes={"http.response.status_code": "0503"})]  # fmt: skip
    for rows in (first, second):
        write_deltalake(path, pa.Table.from_pylist(rows, schema), partition_by=["date"],
                        mode="append")  # fmt: skip
    return settings


def test_duckdb_reads_the_maps_only_while_a_file_can_match(two_files: Settings) -> None:
    engine = DuckDBEngine(two_files)
    f = api.make_filter("search", attrs=["http.route=/a"], **WINDOW)
    with engine.snapshot("spans", DAY, DAY) as facts:
        assert facts.may_hold("resource_attributes", "http.route")
        assert "resource_attributes" in search.matches(f, DUCKDB, facts).sql
    got = api.run("search", f, engine).rows
    assert [r["trace_id"] for r in got] == [f"{3:032x}", f"{1:032x}"]  # the resource, the span
    errors = api.run("search", api.make_filter("search", status="ERROR", **WINDOW), engine).rows
    assert [r["trace_id"] for r in errors] == [f"{4:032x}", f"{2:032x}"]  # 0503 in the map


def test_spark_reads_the_version_its_facts_are_about(two_files: Settings, spark: Any) -> None:
    """A commit landing inside the block is not read: its files were not looked at."""
    from deltalake import write_deltalake

    engine = SparkEngine(spark, two_files)
    count = "SELECT count(*) AS n FROM spans"
    with engine.snapshot("spans", DAY, DAY) as facts:
        assert facts.may_be_null("http_route")
        fields = schemas.table("spans").spark_schema().fields
        schema = pa.schema([pa.field(f.name, arrow_type(f.dataType)) for f in fields])
        write_deltalake(lake.table_path(two_files, "spans"),
                        pa.Table.from_pylist([row(5) | {"date": date(2026, 1, 3)}], schema),
                        partition_by=["date"], mode="append")  # fmt: skip
        assert engine.query(count, {}, ["spans"]) == [{"n": 4}]
    assert engine.query(count, {}, ["spans"]) == [{"n": 5}]
