"""Analytics on a large lake written directly (no Kafka), for the benchmark: latency by
service+operation and errors on DuckDB and Spark, a trace lookup by id, a search by one
attribute (in its dedicated column, and one that stays in the map), the critical path of an
hour's slowest requests (``--slowest 99``).

The lake is built once per size and reused (delete its directory to rebuild; a lake of an
earlier ``LAYOUT`` is rebuilt). It is shaped like ingested data of schema version 2 before any
``maintain``: one day, traces of 10 spans over 8 services, files in arrival (time) order (file
i holds the i-th slice of the day), each with random trace ids, so their min/max statistics
rule no file out for a trace id; the dedicated attributes (``http.route``, ...) in their
columns, the other attributes in the maps; a bloom filter on ``trace_id`` in each file, as
ingest writes one wherever the ids outgrow the column's dictionary. Times are the best of
``repeat`` warm runs; the first, cold run is reported too.
"""

from __future__ import annotations

import binascii
import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from otellake import schemas
from otellake.analytics import api
from otellake.analytics.engines import DuckDBEngine, Engine, SparkEngine
from otellake.benchmark import results
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# 1 span in 50 each: http.route has a dedicated column, app.item.id stays in span_attributes
SEARCH_ATTR = "http.route=/api/v1/item/7"
SEARCH_MAP_ATTR = "app.item.id=item-7"
# what ensure_lake rebuilds on: 2 = the dedicated attribute columns of schema version 2,
# 3 = bloom filters on the schema files' bloom_columns (trace_id), as ingest writes them, and
# files in arrival order (each covered the whole day before, unlike any ingested lake)
LAYOUT = 3
LAYOUT_FILE = "layout.json"
DAY_NS = 86_400 * 10**9
T0_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
WINDOW = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
# critical-path: the requests of one hour, the slowest percent of each root operation
CRITICAL_PATH_WINDOW = {"start": "2026-01-01T12:00:00Z", "end": "2026-01-01T13:00:00Z"}
SERVICES = ["frontend", "checkout", "cart", "payment", "currency", "shipping", "catalog", "recs"]
# one trace: (kind, parent position, service offset from the root's, operation)
SHAPE = [
    ("SERVER", -1, 0, "GET /api"),
    ("CLIENT", 0, 0, "call"),
    ("SERVER", 1, 1, "handle"),
    ("CLIENT", 2, 1, "SELECT orders"),
    ("CLIENT", 2, 1, "call"),
    ("SERVER", 4, 2, "handle"),
    ("INTERNAL", 5, 2, "compute"),
    ("CLIENT", 5, 2, "GET cache"),
    ("CLIENT", 0, 0, "call"),
    ("SERVER", 8, 3, "handle"),
]
PER_TRACE = len(SHAPE)


def arrow_type(spark_type: Any) -> pa.DataType:
    from pyspark.sql import types as T

    simple = {
        T.StringType: pa.string(),
        T.IntegerType: pa.int32(),
        T.LongType: pa.int64(),
        T.DoubleType: pa.float64(),
        T.BooleanType: pa.bool_(),
        T.DateType: pa.date32(),
        T.TimestampType: pa.timestamp("us", tz="UTC"),
    }
    if type(spark_type) in simple:
        return simple[type(spark_type)]
    if isinstance(spark_type, T.MapType):
        return pa.map_(arrow_type(spark_type.keyType), arrow_type(spark_type.valueType))
    if isinstance(spark_type, T.ArrayType):
        return pa.list_(arrow_type(spark_type.elementType))
    if isinstance(spark_type, T.StructType):
        return pa.struct([pa.field(f.name, arrow_type(f.dataType)) for f in spark_type.fields])
    raise TypeError(spark_type)


def hex_ids(rng: np.random.Generator, n: int, width_bytes: int) -> pa.Array:
    data = binascii.hexlify(rng.integers(0, 256, n * width_bytes, dtype=np.uint8).tobytes())
    offsets = np.arange(0, (n + 1) * width_bytes * 2, width_bytes * 2, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def string_map(keys: list[list[str]], values: list[pa.Array]) -> pa.Array:
    """A MAP<STRING,STRING> with the same keys in every row (keys[i] for each position i)."""
    n = len(values[0])
    width = len(keys)
    key_arr = pa.array(np.tile(np.array([k[0] for k in keys], dtype=object), n), pa.string())
    value_cols = np.empty((n, width), dtype=object)
    for i, col in enumerate(values):
        value_cols[:, i] = col.to_numpy(zero_copy_only=False)
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, key_arr, pa.array(value_cols.ravel(), pa.string()))


def chunk(
    rng: np.random.Generator, traces: int, schema: pa.Schema, span_ns: tuple[int, int]
) -> pa.Table:
    """``traces`` traces starting within ``span_ns`` (from, to), in time order."""
    n = traces * PER_TRACE
    pos = np.tile(np.arange(PER_TRACE), traces)
    trace_ids = hex_ids(rng, traces, 16).take(pa.array(np.repeat(np.arange(traces), PER_TRACE)))
    span_ids = hex_ids(rng, n, 8)
    parent_pos = np.array([p for _, p, _, _ in SHAPE])[pos]
    base = np.repeat(np.arange(traces) * PER_TRACE, PER_TRACE)
    parent_index = np.where(parent_pos >= 0, base + parent_pos, 0)
    parents = span_ids.take(pa.array(parent_index))
    parents = pc.if_else(pa.array(parent_pos < 0), "", parents)
    root_service = np.repeat(rng.integers(0, len(SERVICES), traces), PER_TRACE)
    service_idx = (root_service + np.array([s for _, _, s, _ in SHAPE])[pos]) % len(SERVICES)
    services = pa.array(SERVICES).take(pa.array(service_idx))
    op_idx = rng.integers(0, 12, n)
    names = pc.binary_join_element_wise(
        pa.array([s for _, _, _, s in SHAPE]).take(pa.array(pos)),
        pa.array([f"{i}" for i in range(12)]).take(pa.array(op_idx)),
        " ",
    )
    kinds = pa.array([k for k, _, _, _ in SHAPE]).take(pa.array(pos))
    start = np.sort(rng.integers(span_ns[0], span_ns[1], traces))
    starts = np.repeat(start, PER_TRACE) + pos * 1_000_000
    durations = (rng.lognormal(np.log(20e6), 0.8, n) / (1 + pos)).astype(np.int64)
    errors = rng.random(n) < 0.02
    status = pa.array(np.where(errors, "ERROR", "UNSET"))
    http_status = pa.array(np.where(errors & (pos == 0), 503, 200).astype(np.int32))
    routes = pa.array([f"/api/v1/item/{i}" for i in range(50)]).take(
        pa.array(rng.integers(0, 50, n))
    )
    items = pa.array([f"item-{i}" for i in range(50)]).take(pa.array(rng.integers(0, 50, n)))
    threads = pa.array([f"worker-{i}" for i in range(8)]).take(pa.array(rng.integers(0, 8, n)))
    methods = pa.array(["GET", "POST"]).take(pa.array(rng.integers(0, 2, n)))
    instance_no = pa.array(["0", "1", "2", "3"]).take(pa.array(rng.integers(0, 4, n)))
    instances = pc.binary_join_element_wise(services, instance_no, "-")
    columns: dict[str, Any] = {
        "trace_id": trace_ids,
        "span_id": span_ids,
        "parent_span_id": parents,
        "trace_state": pa.array([""] * n),
        "flags": pa.array(np.ones(n, dtype=np.int32)),
        "service_name": services,
        "span_name": names,
        "span_kind": kinds,
        "start_time": pa.array(starts // 1000, pa.timestamp("us", tz="UTC")),
        "start_time_unix_nano": pa.array(starts),
        "end_time_unix_nano": pa.array(starts + durations),
        "duration_ns": pa.array(durations),
        "status_code": status,
        "status_message": pa.array([""] * n),
        "resource_attributes": string_map(
            [["service.name"], ["service.instance.id"]], [services, instances]
        ),
        "scope_name": pa.array(["bench"] * n),
        "scope_version": pa.array(["1"] * n),
        # dedicated keys in their columns (schemas/tables/spans.json), the rest in the map
        "span_attributes": string_map([["app.item.id"], ["thread.name"]], [items, threads]),
        "http_request_method": methods,
        "http_route": routes,
        "http_response_status_code": http_status,
        "dropped_attributes_count": pa.array(np.zeros(n, dtype=np.int32)),
        "dropped_events_count": pa.array(np.zeros(n, dtype=np.int32)),
        "dropped_links_count": pa.array(np.zeros(n, dtype=np.int32)),
        "date": pa.array(np.full(n, np.datetime64("2026-01-01", "D"))),
    }
    arrays = []
    for field in schema:
        if field.name in columns:
            arrays.append(columns[field.name].cast(field.type))
        elif pa.types.is_list(field.type):  # events, links: empty lists
            arrays.append(pa.array([[]] * n, field.type))
        else:  # the other dedicated attribute columns: these spans do not have the keys
            arrays.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def bloom_filters(table: str, distinct: int) -> Any:
    """delta-rs writer properties with the bloom filters ingest's Parquet writer adds
    (``spark_session.BLOOM_FILTERS``: 1% false positives), sized for ``distinct`` values."""
    from deltalake import BloomFilterProperties, ColumnProperties, WriterProperties

    bloom = ColumnProperties(bloom_filter_properties=BloomFilterProperties(True, 0.01, distinct))
    return WriterProperties(
        compression="SNAPPY",  # delta-rs's default, which WriterProperties would turn off
        column_properties={path: bloom for path in schemas.table(table).bloom_columns},
    )


def build(lake: Path, spans: int, seed: int = 7, per_chunk: int = 100_000) -> None:
    """Write the lake: ``per_chunk`` traces per file (100k: 1M spans, one commit each)."""
    from deltalake import write_deltalake

    spec = schemas.table("spans")
    schema = pa.schema([pa.field(f.name, arrow_type(f.dataType)) for f in spec.spark_schema()])
    rng = np.random.default_rng(seed)
    config = {
        "delta.dataSkippingStatsColumns": ",".join(spec.stats_columns),
        "delta.enableDeletionVectors": "false",
    }
    chunks = -(-spans // (per_chunk * PER_TRACE))
    done = 0
    for i in range(chunks):
        traces = min(per_chunk, (spans - done) // PER_TRACE)
        # arrival order: chunk i holds the i-th slice of the day, as ingest's batches do
        day_slice = (T0_NS + i * DAY_NS // chunks, T0_NS + (i + 1) * DAY_NS // chunks)
        table = chunk(rng, traces, schema, day_slice)
        write_deltalake(
            str(lake / "spans"), table, partition_by=["date"], mode="append",
            configuration=config, target_file_size=128 << 20,
            writer_properties=bloom_filters("spans", traces),
        )  # fmt: skip
        done += table.num_rows
        print(f"wrote {done} spans", file=sys.stderr)
    index = build_trace_index(lake)
    write_deltalake(
        str(lake / "trace_index"), index, partition_by=["date"], mode="append",
        writer_properties=bloom_filters("trace_index", index.num_rows),
    )  # fmt: skip
    logs = schemas.table("logs").spark_schema()
    empty = pa.schema([pa.field(f.name, arrow_type(f.dataType)) for f in logs]).empty_table()
    write_deltalake(str(lake / "logs"), empty, partition_by=["date"], mode="append")
    (lake / LAYOUT_FILE).write_text(json.dumps({"layout": LAYOUT, "spans": spans}) + "\n")


def build_trace_index(lake: Path) -> pa.Table:
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    con.register("spans", DeltaTable(str(lake / "spans")).to_pyarrow_dataset())
    return con.sql(
        """SELECT trace_id, date, min(start_time_unix_nano) AS start_time_unix_nano_min,
                  max(end_time_unix_nano) AS end_time_unix_nano_max, count(*) AS span_count,
                  max(CASE WHEN parent_span_id = '' THEN service_name ELSE '' END)
                    AS root_service_name,
                  max(CASE WHEN parent_span_id = '' THEN span_name ELSE '' END) AS root_span_name
           FROM spans GROUP BY trace_id, date ORDER BY date"""
    ).to_arrow_table()


def timed(engine: Engine, analysis: str, repeat: int, **options: Any) -> dict[str, Any]:
    """Best of ``repeat`` warm runs, after one cold run (reported too)."""
    times = []
    rows = 0
    for _ in range(repeat + 1):
        t = time.perf_counter()
        rows = len(api.run(analysis, api.make_filter(analysis, **options), engine).rows)
        times.append(time.perf_counter() - t)
    return {"cold_s": round(times[0], 3), "best_s": round(min(times[1:]), 3), "rows": rows}


def layout_of(lake: Path) -> int | None:
    """The ``LAYOUT`` a lake was built with; None when it is not (fully) built."""
    try:
        return int(json.loads((lake / LAYOUT_FILE).read_text())["layout"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ensure_lake(lake: Path, spans: int, emit: Any) -> float:
    """Build the lake unless it exists in the current ``LAYOUT``; returns the seconds spent
    building."""
    started = time.perf_counter()
    if layout_of(lake) != LAYOUT:
        if lake.exists():  # an earlier layout (attributes in the maps), or a build cut short
            emit(f"{lake} is not of layout {LAYOUT} (dedicated attribute columns): rebuilding")
            shutil.rmtree(lake)
        emit(f"writing a {spans:,}-span lake to {lake} (once; reused by later runs)")
        build(lake, spans)
    return time.perf_counter() - started


def measure(
    lake: Path, repeat: int, spark: SparkSession | None, emit: Any
) -> dict[str, dict[str, Any]]:
    """Latency by service+operation, errors by service, a trace lookup, attribute searches
    (a dedicated column, a map key) and the critical path of an hour's slowest requests, on
    DuckDB and (when ``spark`` is given) on Spark."""
    settings = Settings(lake=str(lake.resolve()))  # type: ignore[call-arg]
    duck = DuckDBEngine(settings)
    # the median id: the smallest would let row-group min/max statistics skip nearly everything
    sample = duck.query(
        "SELECT quantile_disc(trace_id, 0.5) AS t FROM trace_index", {}, ["trace_index"]
    )
    trace_id = sample[0]["t"]
    engines: list[Engine] = [duck]
    if spark is not None:
        engines.append(SparkEngine(spark, settings))
    timings: dict[str, dict[str, Any]] = {}
    for engine in engines:
        emit(f"analytics on {engine.name}")
        runs = repeat if engine.name == "duckdb" else 1  # Spark: minutes per query at 10M
        timings[engine.name] = {
            "latency_by_operation": timed(engine, "latency", runs, by="operation", **WINDOW),
            "errors_by_service": timed(engine, "errors", runs, **WINDOW),
            "trace_lookup": timed(engine, "trace", runs, trace_id=trace_id),
            "attr_search": timed(engine, "search", runs, attrs=[SEARCH_ATTR], **WINDOW),
            "attr_search_map": timed(engine, "search", runs, attrs=[SEARCH_MAP_ATTR], **WINDOW),
            "critical_path": timed(
                engine, "critical-path", runs, slowest=99, **CRITICAL_PATH_WINDOW
            ),
        }
    return timings


def figures(timings: dict[str, dict[str, Any]]) -> list[results.Figure]:
    """The benchmark's analytics figures from :func:`measure`'s timings (Spark's are None
    when it did not run)."""
    duck, sp = timings["duckdb"], timings.get("spark", {})

    def spark(analysis: str) -> float | None:
        return sp.get(analysis, {}).get("best_s")

    return [
        results.figure("duckdb_latency_10m_spans_s", duck["latency_by_operation"]["best_s"]),
        results.figure("spark_latency_10m_spans_s", spark("latency_by_operation")),
        results.figure("duckdb_errors_10m_spans_s", duck["errors_by_service"]["best_s"]),
        results.figure("trace_lookup_10m_spans_s", duck["trace_lookup"]["best_s"]),
        results.figure("spark_trace_lookup_10m_spans_s", spark("trace_lookup")),
        results.figure("attr_search_10m_spans_s", duck["attr_search"]["best_s"]),
        results.figure("attr_search_map_10m_spans_s", duck["attr_search_map"]["best_s"]),
        results.figure("spark_attr_search_10m_spans_s", spark("attr_search")),
        results.figure("critical_path_10m_spans_s", duck["critical_path"]["best_s"]),
    ]
