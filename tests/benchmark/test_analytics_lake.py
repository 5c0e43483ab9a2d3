"""The benchmark's analytics lake at a tiny scale (no services, no Spark): its layout, the
figures it yields, and that a lake of an earlier layout is rebuilt."""

from __future__ import annotations

from pathlib import Path

from otellake import schemas
from otellake.benchmark import analytics_lake, results

SPANS = 2_000


def test_the_lake_keeps_dedicated_keys_in_their_columns(tmp_path: Path) -> None:
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    analytics_lake.build(lake, SPANS)
    assert analytics_lake.layout_of(lake) == analytics_lake.LAYOUT
    rows = DeltaTable(str(lake / "spans")).to_pyarrow_table().to_pylist()
    assert len(rows) == SPANS
    dedicated = {d.key for d in schemas.table("spans").dedicated_attributes}
    for row in rows[:50]:
        assert row["http_route"].startswith("/api/v1/item/")
        assert row["http_response_status_code"] in (200, 503)
        assert row["http_request_method"] in ("GET", "POST")
        assert row["host_name"] is None
        keys = {k for k, _ in row["span_attributes"]} | {k for k, _ in row["resource_attributes"]}
        assert {"app.item.id", "thread.name"} <= keys and not keys & dedicated


def test_the_files_are_in_arrival_order(tmp_path: Path) -> None:
    """Each file holds its own slice of the day, in order, as ingest's batches write them."""
    import duckdb

    lake = tmp_path / "lake"
    analytics_lake.build(lake, 3_000, per_chunk=100)
    ranges = duckdb.execute(
        "SELECT min(start_time_unix_nano), max(start_time_unix_nano) "
        "FROM read_parquet(?, filename = true) GROUP BY filename ORDER BY 1",
        [str(lake / "spans" / "*" / "*.parquet")],
    ).fetchall()
    day = analytics_lake.DAY_NS // 3
    assert len(ranges) == 3
    for i, (first, last) in enumerate(ranges):
        assert (
            analytics_lake.T0_NS + i * day
            <= first
            <= last
            < analytics_lake.T0_NS + (i + 1) * day + 10**7
        )


def test_the_lake_has_the_bloom_filters_ingest_writes(tmp_path: Path) -> None:
    """Every spans and trace_index file has a filter on trace_id (schemas' bloom_columns)."""
    import duckdb

    lake = tmp_path / "lake"
    analytics_lake.build(lake, SPANS)
    for table in ("spans", "trace_index"):
        files = [str(f) for f in (lake / table).rglob("*.parquet")]
        assert files and schemas.table(table).bloom_columns == ("trace_id",)
        lengths = duckdb.execute(
            "SELECT bloom_filter_length FROM parquet_metadata(?) WHERE path_in_schema = ?",
            [files, "trace_id"],
        ).fetchall()
        assert len(lengths) == len(files) and all(n and n > 0 for (n,) in lengths), lengths


def test_measure_gives_every_analytics_figure(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    messages: list[str] = []
    analytics_lake.ensure_lake(lake, SPANS, messages.append)
    timings = analytics_lake.measure(lake, 1, None, messages.append)
    duck = timings["duckdb"]
    assert set(duck) == {
        "latency_by_operation",
        "errors_by_service",
        "trace_lookup",
        "attr_search",
        "attr_search_map",
        "critical_path",
    }
    assert duck["trace_lookup"]["rows"] == analytics_lake.PER_TRACE
    # 1 span in 50 matches each search: about 40 spans, the 20 newest traces shown
    assert duck["attr_search"]["rows"] == duck["attr_search_map"]["rows"] == 20
    figures = {f.name: f for f in analytics_lake.figures(timings)}
    assert set(figures) <= set(results.GOALS)
    assert {
        "attr_search_map_10m_spans_s",
        "spark_trace_lookup_10m_spans_s",
        "spark_attr_search_10m_spans_s",
    } <= set(figures)
    assert figures["attr_search_map_10m_spans_s"].value is not None
    assert figures["spark_attr_search_10m_spans_s"].value is None  # Spark did not run


def test_a_lake_of_an_earlier_layout_is_rebuilt(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    (lake / "spans" / "_delta_log").mkdir(parents=True)  # built before LAYOUT existed
    messages: list[str] = []
    analytics_lake.ensure_lake(lake, SPANS, messages.append)
    assert "rebuilding" in messages[0]
    assert analytics_lake.layout_of(lake) == analytics_lake.LAYOUT
    messages.clear()
    analytics_lake.ensure_lake(lake, SPANS, messages.append)
    assert messages == []  # reused
