"""The dedicated attribute columns (schema version 2): the same spans stored three ways give
the same answers on both engines.

- ``v1``: a table of schema version 1 (no dedicated columns; never evolved), the values in the
  maps; the engines read the missing columns as NULL.
- ``v2``: the layout ingest writes now: a dedicated key's value in its column, not in the map.
- ``mixed``: a version 1 table evolved in place (the columns added by the append of the first
  spans in the new layout), holding spans of both layouts: every trace of ``EXTRA`` exists twice,
  once in each. (Evolution by ``lake.ensure_table``, as ingest does it, is tested in
  tests/ingest; 17 ALTER TABLE commits take seconds this file does not need to spend.)

The lakes are written with delta-rs, as the benchmark's lake is: the readers do not care which
writer made the files, and Spark writes would cost seconds each.

The spans: the small lake's (``conftest.SPANS``, ``shop_day.SPANS``) plus ``EXTRA``, which holds
dedicated span and resource keys, the INTEGER key (canonical, padded ``0503``, non-numeric),
the legacy ``http.status_code``, and keys in the other map (a span ``host.name``, a resource
``http.route``), which stay in their map.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pytest

from otellake import lake, schemas
from otellake.analytics import api, attributes, engines
from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.benchmark.analytics_lake import arrow_type
from otellake.settings import Settings
from tests.analytics import conftest, shop_day
from tests.analytics.shop_day import MIN, MS, sid, span

BOTH_DAYS = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-03T00:00:00Z"}
DAY1 = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}
DAY2 = {"start": "2026-01-02T00:00:00Z", "end": "2026-01-02T01:00:00Z"}
DEDICATED = schemas.table("spans").dedicated_attributes
V1_COLUMNS = [c for c in schemas.table("spans").columns if c not in {d.column for d in DEDICATED}]


def trace_id(name: str, copy: int) -> str:
    return f"{name}{copy}".ljust(32, "0")


SHOP, CART, LEGACY, PADDED = "5b0b", "ca27", "1e6a", "badd"


def extra(copy: int) -> list[dict[str, Any]]:
    """Four traces on day two, at minute 20 (copy 0) or 40 (copy 1)."""
    at = (20 + 20 * copy) * MIN
    n = 100 + 10 * copy
    shop_resource = {
        "service.name": "frontend",
        "host.name": "node-1",
        "k8s.namespace.name": "shop",
        "deployment.environment.name": "production",
    }
    return [
        span(
            trace_id(SHOP, copy), n + 1, "", "frontend", "GET /shop", "SERVER", at, 40,
            span_attributes={"http.route": "/shop", "http.request.method": "GET",
                             "http.response.status_code": "503", "app.cart.size": "3"},
            resource_attributes=shop_resource,
        ),
        span(
            trace_id(SHOP, copy), n + 2, sid(n + 1), "frontend", "GET", "CLIENT", at + MS, 10,
            span_attributes={"server.address": "search-api", "http.response.status_code": "503"},
            resource_attributes=shop_resource,
        ),
        span(
            trace_id(SHOP, copy), n + 3, sid(n + 1), "frontend", "GetAds", "CLIENT", at + 2 * MS,
            5, span_attributes={"peer.service": "ads", "server.address": "ads.internal",
                                "rpc.system": "grpc"},
            resource_attributes=shop_resource,
        ),
        # not a number: stays in the map, not an error; keys of the other map stay there too
        span(
            trace_id(CART, copy), n + 4, "", "cart", "GET /cart/{id}", "SERVER", at + MIN, 20,
            span_attributes={"http.route": "/cart/{id}", "http.response.status_code": "5xx",
                             "host.name": "from-span"},
            resource_attributes={"service.name": "cart", "host.name": "node-2",
                                 "http.route": "/from-resource"},
        ),
        # the current key wins over the legacy one: not an error
        span(
            trace_id(LEGACY, copy), n + 5, "", "cart", "GET /legacy", "SERVER", at + 2 * MIN, 20,
            span_attributes={"http.response.status_code": "200", "http.status_code": "502"},
        ),
        # not the canonical rendering: stays in the map, reads as 503, an error
        span(
            trace_id(PADDED, copy), n + 6, "", "cart", "GET /padded", "SERVER", at + 3 * MIN, 20,
            span_attributes={"http.response.status_code": "0503"},
        ),
    ]  # fmt: skip


EXTRA_COPIES = extra(0), extra(1)
EXTRA = EXTRA_COPIES[0] + EXTRA_COPIES[1]
ALL_SPANS = conftest.SPANS + shop_day.SPANS + EXTRA


def new_layout(row: dict[str, Any]) -> dict[str, Any]:
    """The row as ingest writes it now: each dedicated key's value moved to its column (an
    INTEGER column takes only the canonical rendering of an int)."""
    row = dict(row)
    maps = {m: dict(row[m]) for m in attributes.MAPS}
    for d in DEDICATED:
        value = maps[d.map].get(d.key)
        if value is None:
            continue
        if schemas.column_type("spans", d.column) == "integer":
            if not re.fullmatch(r"0|-?[1-9][0-9]{0,8}", value):
                continue  # 5xx, 0503 (and, for this data, no int of ten digits)
            row[d.column] = int(value)
        else:
            row[d.column] = value
        del maps[d.map][d.key]
    return row | maps


def old_layout(row: dict[str, Any]) -> dict[str, Any]:
    assert all(row.get(d.column) is None for d in DEDICATED)
    return row


def arrow_spans(rows: list[dict[str, Any]], columns: list[str]) -> pa.Table:
    fields = {f.name: f for f in schemas.table("spans").spark_schema().fields}
    schema = pa.schema([pa.field(c, arrow_type(fields[c].dataType)) for c in columns])
    return pa.Table.from_pylist(rows, schema)


def write_v1(settings: Settings, rows: list[dict[str, Any]]) -> None:
    """A spans table as schema version 1 wrote it: no dedicated columns."""
    from deltalake import write_deltalake

    path = lake.table_path(settings, "spans")
    write_deltalake(path, arrow_spans(rows, V1_COLUMNS), partition_by=["date"])


def append_v2(settings: Settings, rows: list[dict[str, Any]]) -> None:
    """Spans of schema version 2 appended (the columns added to the table if it lacks them)."""
    from deltalake import write_deltalake

    table = arrow_spans(rows, schemas.table("spans").columns)
    path = lake.table_path(settings, "spans")
    write_deltalake(path, table, partition_by=["date"], mode="append", schema_mode="merge")


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    def settings(name: str) -> Settings:
        home: Path = tmp_path_factory.mktemp(f"dedicated-{name}")
        return Settings(home=home, lake=str(home / "lake"))

    made = {name: settings(name) for name in ("v1", "v2", "mixed")}
    write_v1(made["v1"], [old_layout(r) for r in ALL_SPANS])
    append_v2(made["v2"], [new_layout(r) for r in ALL_SPANS])
    # copy 1 of EXTRA and every other span of the small lake: the new layout, the rest the old
    later = {id(r) for r in EXTRA_COPIES[1] + (conftest.SPANS + shop_day.SPANS)[1::2]}
    write_v1(made["mixed"], [old_layout(r) for r in ALL_SPANS if id(r) not in later])
    append_v2(made["mixed"], [new_layout(r) for r in ALL_SPANS if id(r) in later])
    return made


def read_spans(settings: Settings) -> list[dict[str, Any]]:
    from deltalake import DeltaTable

    rows = DeltaTable(lake.table_path(settings, "spans")).to_pyarrow_table().to_pylist()
    for row in rows:  # a MAP comes back as (key, value) pairs
        for m in attributes.MAPS:
            row[m] = dict(row[m])
    return rows


def test_the_layouts_are_what_they_claim(lakes: dict[str, Settings]) -> None:
    v2 = {r["span_name"]: r for r in read_spans(lakes["v2"]) if r["trace_id"][4] == "0"}
    shop, cart, padded = v2["GET /shop"], v2["GET /cart/{id}"], v2["GET /padded"]
    assert (shop["http_route"], shop["http_response_status_code"], shop["host_name"]) == (
        "/shop",
        503,
        "node-1",
    )
    assert shop["span_attributes"] == {"app.cart.size": "3"}
    assert shop["resource_attributes"] == {"service.name": "frontend"}
    assert cart["http_response_status_code"] is None
    assert cart["span_attributes"] == {"http.response.status_code": "5xx", "host.name": "from-span"}
    assert cart["resource_attributes"] == {"service.name": "cart", "http.route": "/from-resource"}
    assert padded["span_attributes"] == {"http.response.status_code": "0503"}
    mixed = read_spans(lakes["mixed"])
    assert set(schemas.table("spans").columns) == set(mixed[0])
    shops = [r for r in mixed if r["span_name"] == "GET /shop"]
    assert {(r["http_route"], r["span_attributes"].get("http.route")) for r in shops} == {
        (None, "/shop"),
        ("/shop", None),
    }
    assert "http_route" not in read_spans(lakes["v1"])[0]


def both(name: str) -> list[str]:
    return [trace_id(name, 1), trace_id(name, 0)]  # newest first


SEARCHES: list[tuple[list[str], dict[str, Any], list[str]]] = [
    (["http.route=/shop"], {}, both(SHOP)),  # a dedicated span key
    (["http.route=/from-resource"], {}, both(CART)),  # the same key as a resource attribute
    (["host.name=node-1"], {}, both(SHOP)),  # a dedicated resource key
    (["host.name=from-span"], {}, both(CART)),  # the same key as a span attribute
    (["k8s.namespace.name=shop", "http.request.method=GET"], {}, both(SHOP)),
    (["http.route=/shop", "host.name=node-2"], {}, []),
    (["http.response.status_code=503"], {}, both(SHOP)),  # the INTEGER column
    (["http.response.status_code=0503"], {}, both(PADDED)),  # the map: not canonical
    (["http.response.status_code=5xx"], {}, both(CART)),
    (["http.response.status_code=200"], {}, both(LEGACY)),
    (["http.response.status_code=99999999999"], {}, []),  # no INT: the map only
    (["http.status_code=502"], {}, both(LEGACY)),  # not dedicated
    (["app.cart.size=3"], {}, both(SHOP)),  # not dedicated
    (["server.address=search-api"], {}, both(SHOP)),
    (["peer.service=ads"], {}, both(SHOP)),
    (["http.route=x' OR '1'='1"], {}, []),  # a value, never SQL
    ([], {"service": "cart", "status": "ERROR"}, both(PADDED)),  # 0503 is 5xx; 5xx is not
    ([], {"service": "frontend", "status": "ERROR"}, both(SHOP)),  # the SERVER span only
    # UNSET and not an error: spans without an HTTP status count (TRACE_A's orphan)
    (
        [],
        {"service": "cart", "status": "UNSET"},
        [trace_id(LEGACY, 1), trace_id(CART, 1), trace_id(LEGACY, 0), trace_id(CART, 0),
         shop_day.TRACE_A],
    ),
]  # fmt: skip


# On Spark (about half a second a query): a dedicated span key, a dedicated resource key with
# the INTEGER key, the 5xx rule (errors), the virtual callees (deps).
SPARK_SEARCHES = [
    SEARCHES[0],
    (["host.name=node-1", "http.response.status_code=503"], {}, both(SHOP)),
]


def answers(engine: Any, cases: Literal["all", "spark", "least"] = "all") -> dict[str, Any]:
    """What the tests compare between layouts and engines: every case, the few that Spark
    runs, or the least (one search, errors)."""

    def run(analysis: str, window: dict[str, str], **options: Any) -> list[dict[str, Any]]:
        return api.run(analysis, api.make_filter(analysis, **(window | options)), engine).rows

    searches = {"all": SEARCHES, "spark": SPARK_SEARCHES, "least": SPARK_SEARCHES[1:]}[cases]
    got: dict[str, Any] = {
        f"search {attrs} {options}": run("search", DAY2, attrs=attrs, **options)
        for attrs, options, _ in searches
    }
    got["errors day 2"] = run("errors", DAY2, by="operation")
    if cases != "least":
        got["deps"] = run("deps", DAY2)
    if cases == "all":
        got["errors day 1"] = run("errors", DAY1, by="operation")
        got["search both days"] = run("search", BOTH_DAYS, status="ERROR", limit=50)
    return got


def check_known_answers(got: dict[str, Any]) -> None:
    for attrs, options, want in SEARCHES + SPARK_SEARCHES:
        key = f"search {attrs} {options}"
        if key in got:
            assert [r["trace_id"] for r in got[key]] == want, key
            if "http.response.status_code=503" in attrs:  # the SERVER span and its CLIENT call
                assert [(r["matched_spans"], r["error_count"]) for r in got[key]] == [(2, 1)] * 2
    errors = {(r["service_name"], r["span_name"]): (r["spans"], r["error_spans"])
              for r in got["errors day 2"]}  # fmt: skip
    assert errors[("frontend", "GET /shop")] == (2, 2)  # 503 on the SERVER span
    assert errors[("cart", "GET /padded")] == (2, 2)  # 0503 reads as 503
    assert errors[("cart", "GET /cart/{id}")] == (2, 0)  # 5xx is no number
    assert errors[("cart", "GET /legacy")] == (2, 0)  # 200 wins over the legacy key's 502
    if "deps" in got:
        edges = {(r["caller"], r["callee"]): (r["is_virtual"], r["calls"]) for r in got["deps"]}
        assert edges[("frontend", "search-api")] == (True, 2)  # server.address
        assert edges[("frontend", "ads")] == (True, 2)  # peer.service before server.address
        assert edges[("checkout", "postgresql")] == (True, 1)  # db.system.name
        assert edges[("product-catalog", "cache-1")] == (True, 1)
        assert ("frontend", "ads.internal") not in edges
    if "errors day 1" in got:
        day1 = {(r["service_name"], r["span_name"]): r["error_spans"] for r in got["errors day 1"]}
        assert day1[("checkout", "GET /cart")] == 1 and day1[("cart", "GET /items")] == 1
        assert len(got["search both days"]) == 2 + 2 + 1 + 4  # SHOP, PADDED, TRACE_A, day one's


def test_every_layout_gives_the_same_answers_on_duckdb(lakes: dict[str, Settings]) -> None:
    got = {name: answers(DuckDBEngine(settings)) for name, settings in lakes.items()}
    check_known_answers(got["v2"])
    assert got["v1"] == got["v2"]
    assert got["mixed"] == got["v2"]


def test_duckdb_reads_missing_columns_through_arrow_too(
    lakes: dict[str, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Object storage (the Arrow dataset path) on a table that has never had the columns."""
    monkeypatch.setattr(engines, "_plain_local_files", lambda _delta, _files: False)
    got = answers(DuckDBEngine(lakes["v1"]), "spark")
    check_known_answers(got)


@pytest.mark.parametrize("layout", ["v2", "mixed", "v1"])
def test_spark_gives_duckdbs_answers(lakes: dict[str, Settings], spark: Any, layout: str) -> None:
    """v1: Spark too reads the columns of a table that has not evolved as NULL."""
    cases: Literal["spark", "least"] = "least" if layout == "v1" else "spark"
    got = answers(SparkEngine(spark, lakes[layout]), cases)
    check_known_answers(got)
    assert got == answers(DuckDBEngine(lakes[layout]), cases)


def test_the_filters_bind_keys_and_values() -> None:
    params: dict[str, Any] = {}
    sql = attributes.any_map_equals_sql("http.response.status_code", "503", params, "a")
    assert "503" not in sql and "http.response" not in sql
    assert params == {"a_key": "http.response.status_code", "a_value": "503", "a_int": 503}
    params = {}
    attributes.any_map_equals_sql("http.response.status_code", "-0", params, "a")
    assert "a_int" not in params  # "-0" is not how an int renders: only the map can hold it
    assert attributes.value_sql("app.x", "span_attributes") == "span_attributes['app.x']"
    assert attributes.value_sql("host.name", "resource_attributes") == (
        "coalesce(host_name, resource_attributes['host.name'])"
    )
