"""The alternatives our ingest is measured against (issue 7, item 2), and their inputs.

Each baseline reads spans from one Kafka topic, from the earliest to the latest offset at
start, and writes the ``spans`` table's flat rows (same columns, same value rendering, see
``schemas/tables/spans.json``) as plain Parquet partitioned by ``date``:

    otlp_json_from_json   the Collector's otlp_json records -> Spark from_json with the nested
                          OTLP/JSON schema -> explode resource/scope/span -> Parquet
    python_consumer       otlp_proto records -> kafka-python + opentelemetry-proto + pyarrow,
                          one process -> Parquet every ``rows_per_file`` rows
    flat_json_from_json   one pre-flattened JSON record per span (the original design) ->
                          Spark from_json -> Parquet partitioned by date and hour

The Spark baselines use built-in functions only (no Python UDFs) on the caller's session, so
they run with exactly our ingest's configuration. What they leave out, in their favour: no
quarantine (an undecodable record yields no rows), no invalid-id checks, no value truncation,
no Delta commit, no sort within files. Like ingest, they move the dedicated attributes
(``schemas/tables/spans.json``) out of the maps into their columns. One rendering gap:
baseline a keeps an array or key-value list attribute as its OTLP/JSON text (the generator
writes none); every other value renders as in the lake (``tests/benchmark`` checks each kind
against our decoder).

``BaselineRun.cpu_seconds`` is the CPU the work took (the Spark JVM in local mode, or the
Python process): on a shared machine it compares the paths where wall time cannot.

``produce_otlp_json`` and ``produce_flat_json`` write the baselines' inputs from the same
generated spans as our ingest reads: either by re-running the generator with the same options
(seeded, so the same spans; fast) or by converting given otlp_proto export requests.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otellake import kafka_clients, schemas
from otellake.analytics.attributes import canonical_int32
from otellake.errors import OtelLakeError
from otellake.generate.kafka_sink import KafkaSink
from otellake.generate.otlp_json import JsonEncoder, to_otlp_json
from otellake.generate.otlp_proto import ProtoEncoder
from otellake.generate.run import GenerateOptions, generate
from otellake.generate.shop import Shop, build_shop
from otellake.generate.simulate import SimLog, SimSpan
from otellake.otlp_values import SPAN_KINDS, STATUS_CODES
from otellake.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa
    from google.protobuf.message import Message
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from pyspark.sql import Column, DataFrame, SparkSession

UNKNOWN_SERVICE = "unknown_service"
NANOS_PER_DAY = 86_400 * 1_000_000_000
# Columns the lake derives from others; every other ``spans`` column is carried by the
# flat JSON record and by the Python consumer's rows.
DERIVED = ("start_time", "duration_ns", "date")
ROWS_PER_FILE = 100_000


class BaselineError(OtelLakeError):
    """A baseline could not read its whole input."""


@dataclass(frozen=True)
class BaselineRun:
    """One baseline's pass over its topic: rows written, wall time (no JVM start), cores."""

    name: str
    rows: int
    seconds: float
    cores: int
    out_dir: str
    # CPU the work took (the Spark JVM, or this Python process): on a shared machine wall time
    # says little, CPU time still compares the paths. None where it cannot be read.
    cpu_seconds: float | None = None

    @property
    def spans_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def spans_per_s_per_core(self) -> float:
        return self.spans_per_s / self.cores

    @property
    def spans_per_cpu_s(self) -> float | None:
        return self.rows / self.cpu_seconds if self.cpu_seconds else None


@dataclass(frozen=True)
class ProducedInput:
    """What a producer wrote to its topic."""

    topic: str
    records: int
    spans: int
    bytes: int
    seconds: float


def flat_columns() -> list[str]:
    """The ``spans`` columns a flat record carries (all but the derived ones), in order."""
    return [c for c in schemas.table("spans").columns if c not in DERIVED]


# ---- a. the Collector's otlp_json, decoded by Spark from_json ----------------------------


def otlp_json_schema() -> Any:
    """``ExportTraceServiceRequest`` in OTLP/JSON as a Spark ``StructType``.

    64-bit integers arrive as JSON strings and are read as strings (cast later); an
    ``arrayValue`` / ``kvlistValue`` is kept as its JSON text (a recursive type has no
    ``StructType``; the generator writes none).
    """
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DoubleType,
        IntegerType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    def struct(**fields: Any) -> StructType:
        return StructType([StructField(name, kind) for name, kind in fields.items()])

    text, count = StringType(), LongType()
    any_value = struct(
        stringValue=text,
        boolValue=BooleanType(),
        intValue=text,
        doubleValue=DoubleType(),
        bytesValue=text,
        arrayValue=text,
        kvlistValue=text,
    )
    attributes = ArrayType(struct(key=text, value=any_value))
    event = struct(
        timeUnixNano=text, name=text, attributes=attributes, droppedAttributesCount=count
    )
    link = struct(
        traceId=text,
        spanId=text,
        traceState=text,
        attributes=attributes,
        droppedAttributesCount=count,
        flags=IntegerType(),
    )
    span = struct(
        traceId=text,
        spanId=text,
        traceState=text,
        parentSpanId=text,
        flags=IntegerType(),
        name=text,
        kind=IntegerType(),
        startTimeUnixNano=text,
        endTimeUnixNano=text,
        attributes=attributes,
        droppedAttributesCount=count,
        events=ArrayType(event),
        droppedEventsCount=count,
        links=ArrayType(link),
        droppedLinksCount=count,
        status=struct(message=text, code=IntegerType()),
    )
    scope = struct(name=text, version=text, attributes=attributes, droppedAttributesCount=count)
    scope_spans = struct(scope=scope, spans=ArrayType(span), schemaUrl=text)
    resource = struct(attributes=attributes, droppedAttributesCount=count)
    resource_spans = struct(resource=resource, scopeSpans=ArrayType(scope_spans), schemaUrl=text)
    return struct(resourceSpans=ArrayType(resource_spans))


def _rendered(value: Column) -> Column:
    """An OTLP/JSON ``AnyValue`` struct -> the lake's string rendering ('' when empty)."""
    from pyspark.sql import functions as F

    return F.coalesce(
        value["stringValue"],
        value["intValue"],
        value["doubleValue"].cast("string"),
        value["boolValue"].cast("string"),
        value["bytesValue"],
        value["arrayValue"],
        value["kvlistValue"],
        F.lit(""),
    )


def _attribute_map(attributes: Column) -> Column:
    """``[{key, value: AnyValue}]`` -> MAP<STRING,STRING> (empty, never NULL)."""
    from pyspark.sql import functions as F

    entries = F.transform(
        attributes,
        lambda kv: F.struct(
            F.coalesce(kv["key"], F.lit("")).alias("key"), _rendered(kv["value"]).alias("value")
        ),
    )
    return F.coalesce(F.map_from_entries(entries), F.create_map().cast("map<string,string>"))


@cache
def _dedicated(which: str) -> tuple[tuple[str, str, bool], ...]:
    """(column, key, is an INT column) of each dedicated attribute of the map ``which``."""
    return tuple(
        (d.column, d.key, schemas.column_type("spans", d.column) == "integer")
        for d in schemas.table("spans").dedicated_attributes
        if d.map == which
    )


def _dedicated_split(attribute_map: Column, which: str) -> tuple[Column, dict[str, Column]]:
    """(the map without the values ingest moves to dedicated columns, column -> value): a
    string column takes its key's value; an INT column only a canonical 32-bit integer."""
    from pyspark.sql import functions as F

    def canonical_int(value: Column) -> Column:
        return F.coalesce(value.try_cast("int").cast("string") == value, F.lit(False))

    dedicated = _dedicated(which)
    strings = [key for _, key, integer in dedicated if not integer]
    integers = [key for _, key, integer in dedicated if integer]
    values: dict[str, Column] = {}
    for column, key, integer in dedicated:
        value = attribute_map[key]
        values[column] = F.when(canonical_int(value), value.try_cast("int")) if integer else value

    def moved(k: Column, v: Column) -> Column:
        out = k.isin(strings)
        for key in integers:
            out = out | ((k == key) & canonical_int(v))
        return out

    return F.map_filter(attribute_map, lambda k, v: ~moved(k, v)), values


def _enum_name(code: Column, names: tuple[str, ...]) -> Column:
    from pyspark.sql import functions as F

    name = F.when(code == 1, F.lit(names[1]))
    for number, label in enumerate(names[2:], start=2):
        name = name.when(code == number, F.lit(label))
    return name.otherwise(F.lit(names[0]))  # 0, absent (JSON leaves defaults out), unknown


def _nanos(text: Column) -> Column:
    return text.try_cast("bigint")


def otlp_json_rows(ingested_at: datetime) -> Callable[[DataFrame], DataFrame]:
    """Kafka rows holding OTLP/JSON export requests -> one row per span, ``spans`` columns."""
    request_schema = otlp_json_schema()

    def transform(kafka: DataFrame) -> DataFrame:
        spans, resource_columns = _json_spans(kafka, request_schema)
        columns = _json_span_columns(resource_columns, ingested_at)
        return spans.select(*[columns[c].alias(c) for c in schemas.table("spans").columns])

    return transform


def _text(column: Column) -> Column:
    from pyspark.sql import functions as F

    return F.coalesce(column, F.lit(""))


def _count(column: Column) -> Column:
    from pyspark.sql import functions as F

    return F.coalesce(column, F.lit(0).cast("bigint"))


def _json_spans(kafka: DataFrame, request_schema: Any) -> tuple[DataFrame, list[str]]:
    """One row per span: resource_attributes, the resource's dedicated columns (their names
    returned too), scope_name, scope_version, s (the JSON span), span_map."""
    from pyspark.sql import functions as F

    request = F.from_json(F.col("value").cast("string"), request_schema)
    resources = kafka.select(F.explode(request["resourceSpans"]).alias("rs"))
    # one row per resource: its attribute map (built once, not once per span) and scopes;
    # the map is a column of its own, so the split below reads it instead of rebuilding it
    # for every dedicated key
    resources = resources.select(
        _attribute_map(F.col("rs.resource.attributes")).alias("resource_map"), "rs"
    )
    resource_map, resource_columns = _dedicated_split(F.col("resource_map"), "resource_attributes")
    scopes = resources.select(
        resource_map.alias("resource_attributes"),
        *[value.alias(column) for column, value in resource_columns.items()],
        F.explode("rs.scopeSpans").alias("ss"),
    )
    spans = scopes.select(
        "resource_attributes",
        *resource_columns,
        _text(F.col("ss.scope.name")).alias("scope_name"),
        _text(F.col("ss.scope.version")).alias("scope_version"),
        F.explode("ss.spans").alias("s"),
    ).withColumn("span_map", _attribute_map(F.col("s.attributes")))
    return spans, list(resource_columns)


def _json_span_columns(resource_columns: list[str], ingested_at: datetime) -> dict[str, Column]:
    """Every ``spans`` column from a :func:`_json_spans` row."""
    from pyspark.sql import functions as F

    from otellake.transform.records import event_date, nanos_to_timestamp, service_name

    spans_schema = schemas.table("spans").spark_schema()
    s = F.col("s")
    start = _nanos(s["startTimeUnixNano"])
    end = _nanos(s["endTimeUnixNano"])
    events = F.transform(
        s["events"],
        lambda e: F.struct(
            _nanos(e["timeUnixNano"]).alias("time_unix_nano"),
            _text(e["name"]).alias("name"),
            _attribute_map(e["attributes"]).alias("attributes"),
        ),
    )
    links = F.transform(
        s["links"],
        lambda k: F.struct(
            _text(k["traceId"]).alias("trace_id"),
            _text(k["spanId"]).alias("span_id"),
            _text(k["traceState"]).alias("trace_state"),
            _attribute_map(k["attributes"]).alias("attributes"),
        ),
    )
    span_map, span_columns = _dedicated_split(F.col("span_map"), "span_attributes")
    return {
        **span_columns,
        **{column: F.col(column) for column in resource_columns},
        "trace_id": _text(s["traceId"]),
        "span_id": _text(s["spanId"]),
        "parent_span_id": _text(s["parentSpanId"]),
        "trace_state": _text(s["traceState"]),
        "flags": F.coalesce(s["flags"], F.lit(0)),
        # (service.name is not a dedicated attribute: the map still has it)
        "service_name": service_name(F.col("resource_attributes")),
        "span_name": _text(s["name"]),
        "span_kind": _enum_name(s["kind"], SPAN_KINDS),
        "start_time": nanos_to_timestamp(start),
        "start_time_unix_nano": start,
        "end_time_unix_nano": end,
        "duration_ns": end - start,
        "status_code": _enum_name(s["status"]["code"], STATUS_CODES),
        "status_message": _text(s["status"]["message"]),
        "resource_attributes": F.col("resource_attributes"),
        "scope_name": F.col("scope_name"),
        "scope_version": F.col("scope_version"),
        "span_attributes": span_map,
        "events": F.coalesce(
            events, F.array().cast(spans_schema["events"].dataType.simpleString())
        ),
        "links": F.coalesce(links, F.array().cast(spans_schema["links"].dataType.simpleString())),
        "dropped_attributes_count": _count(s["droppedAttributesCount"]),
        "dropped_events_count": _count(s["droppedEventsCount"]),
        "dropped_links_count": _count(s["droppedLinksCount"]),
        "date": event_date(start, ingested_at),
    }


def otlp_json_from_json(
    spark: SparkSession, settings: Settings, topic: str, out_dir: str | Path
) -> BaselineRun:
    """Baseline a: the Collector's ``otlp_json`` records on ``topic`` -> Spark ``from_json``
    with the nested OTLP/JSON schema -> flat ``spans`` rows -> Parquet by ``date``."""
    out = _new_dir(out_dir)
    return _spark_run(
        "otlp_json_from_json",
        spark,
        lambda ingested_at: (
            kafka_batch(spark, settings, topic)
            .transform(otlp_json_rows(ingested_at))
            .write.partitionBy("date")
            .parquet(out)
        ),
        out,
    )


# ---- c. one pre-flattened JSON record per span, Spark from_json -------------------------


def flat_json_schema() -> Any:
    """The flat record's ``StructType``: the ``spans`` columns but the derived ones."""
    from pyspark.sql.types import StructType

    spans_schema = schemas.table("spans").spark_schema()
    return StructType([spans_schema[c] for c in flat_columns()])


def flat_json_rows(ingested_at: datetime) -> Callable[[DataFrame], DataFrame]:
    """Kafka rows holding one flat JSON span each -> ``spans`` columns plus ``hour``."""
    from pyspark.sql import functions as F

    from otellake.transform.records import event_date, nanos_to_timestamp

    record_schema = flat_json_schema()

    def transform(kafka: DataFrame) -> DataFrame:
        spans = kafka.select(
            F.from_json(F.col("value").cast("string"), record_schema).alias("s")
        ).select("s.*")
        start, end = F.col("start_time_unix_nano"), F.col("end_time_unix_nano")
        derived = {
            "start_time": nanos_to_timestamp(start),
            "duration_ns": end - start,
            "date": event_date(start, ingested_at),
        }
        rows = spans.select(
            *[
                derived[c].alias(c) if c in derived else F.col(c)
                for c in schemas.table("spans").columns
            ]
        )
        # one row per span: the spans columns, then hour (the second partition column)
        return rows.withColumn("hour", F.hour("start_time"))

    return transform


def flat_json_from_json(
    spark: SparkSession, settings: Settings, topic: str, out_dir: str | Path
) -> BaselineRun:
    """Baseline c: one flat JSON record per span on ``topic`` -> Spark ``from_json`` ->
    Parquet by ``date`` and ``hour`` (the original design's path)."""
    out = _new_dir(out_dir)
    return _spark_run(
        "flat_json_from_json",
        spark,
        lambda ingested_at: (
            kafka_batch(spark, settings, topic)
            .transform(flat_json_rows(ingested_at))
            .write.partitionBy("date", "hour")
            .parquet(out)
        ),
        out,
    )


# ---- shared by the Spark baselines ------------------------------------------------------


def kafka_batch(spark: SparkSession, settings: Settings, topic: str) -> DataFrame:
    """The topic from its earliest to its latest offset, with our ingest's source options."""
    return (
        spark.read.format("kafka")
        .options(**kafka_clients.spark_options(settings))
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .option("kafka.max.partition.fetch.bytes", str(max(settings.max_record_bytes, 1 << 20)))
        .load()
    )


def spark_cores(spark: SparkSession) -> int:
    """Cores the session computes with: N of ``local[N]``, else the cluster's total."""
    master = str(spark.sparkContext.master)
    local = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if local is None:
        return int(spark.sparkContext.defaultParallelism)
    cores = local.group(1)
    if cores is None:
        return 1
    return (os.cpu_count() or 1) if cores == "*" else int(cores)


def _spark_run(
    name: str, spark: SparkSession, write: Callable[[datetime], None], out: str
) -> BaselineRun:
    # Duplicate keys in one attribute list: the last one wins, as in the lake (Spark's default
    # policy fails the job instead).
    policy_key = "spark.sql.mapKeyDedupPolicy"
    previous = spark.conf.get(policy_key, None)
    spark.conf.set(policy_key, "LAST_WIN")
    try:
        cpu = jvm_cpu_seconds(spark)
        started = time.monotonic()
        write(datetime.now(UTC))
        seconds = time.monotonic() - started
        cpu_after = jvm_cpu_seconds(spark)
    finally:
        if previous is None:
            spark.conf.unset(policy_key)
        else:
            spark.conf.set(policy_key, previous)
    rows = spark.read.parquet(out).count()
    cpu_seconds = None if cpu is None or cpu_after is None else cpu_after - cpu
    return BaselineRun(name, rows, seconds, spark_cores(spark), out, cpu_seconds)


def jvm_cpu_seconds(spark: SparkSession) -> float | None:
    """CPU seconds the session's driver JVM used so far (in local mode, all of Spark's work);
    None unless it runs on this Linux machine."""
    try:
        pid = spark.sparkContext._jvm.ProcessHandle.current().pid()  # type: ignore[union-attr]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, AttributeError):
        return None
    # utime and stime, fields 14 and 15 of stat(5), in clock ticks
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _new_dir(out_dir: str | Path) -> str:
    path = Path(out_dir)
    if path.exists():
        raise FileExistsError(f"baseline output {str(path)!r} exists; expected a new directory")
    return str(path)


# ---- b. a plain Python consumer ---------------------------------------------------------


def _double(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _nested(value: AnyValue) -> Any:
    """An ``AnyValue`` inside an array or key-value list, as a JSON-ready Python value."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        d = value.double_value
        return d if math.isfinite(d) else _double(d)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "array_value":
        return [_nested(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _nested(kv.value) for kv in value.kvlist_value.values}
    return None


def render(value: AnyValue) -> str:
    """An attribute's ``AnyValue`` as the lake's MAP<STRING,STRING> value."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        return _double(value.double_value)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind is None:
        return ""
    return json.dumps(_nested(value), ensure_ascii=False, separators=(",", ":"))


def attribute_map(attributes: Iterable[KeyValue]) -> dict[str, str]:
    """Key-values -> dict in wire order; a duplicate key's last value wins."""
    return {kv.key: render(kv.value) for kv in attributes}


def pop_dedicated(attributes: dict[str, str], which: str) -> dict[str, Any]:
    """Move the values ingest keeps in dedicated columns out of ``attributes`` (a map of
    ``which``); returns column -> value for that map's dedicated attributes."""
    values: dict[str, Any] = {}
    for column, key, integer in _dedicated(which):
        value: Any = attributes.get(key)
        if value is not None and integer:
            value = canonical_int32(value)
        if value is not None:
            del attributes[key]
        values[column] = value
    return values


def span_rows(request: ExportTraceServiceRequest) -> Iterator[tuple[Any, ...]]:
    """One tuple per span in ``flat_columns()`` order (maps as dicts, events/links as lists
    of dicts)."""
    kinds, codes = SPAN_KINDS, STATUS_CODES
    dedicated = [d.column for d in schemas.table("spans").dedicated_attributes]
    for rs in request.resource_spans:
        resource = attribute_map(rs.resource.attributes)
        resource_columns = pop_dedicated(resource, "resource_attributes")
        service = resource.get("service.name") or UNKNOWN_SERVICE
        for ss in rs.scope_spans:
            scope_name, scope_version = ss.scope.name, ss.scope.version
            for s in ss.spans:
                kind, code = s.kind, s.status.code
                span_attributes = attribute_map(s.attributes)
                columns = resource_columns | pop_dedicated(span_attributes, "span_attributes")
                yield (
                    s.trace_id.hex(),
                    s.span_id.hex(),
                    s.parent_span_id.hex(),
                    s.trace_state,
                    s.flags,
                    service,
                    s.name,
                    kinds[kind] if 0 <= kind < len(kinds) else kinds[0],
                    s.start_time_unix_nano,
                    s.end_time_unix_nano,
                    codes[code] if 0 <= code < len(codes) else codes[0],
                    s.status.message,
                    resource,
                    scope_name,
                    scope_version,
                    span_attributes,
                    *[columns[c] for c in dedicated],
                    [
                        {
                            "time_unix_nano": e.time_unix_nano,
                            "name": e.name,
                            "attributes": attribute_map(e.attributes),
                        }
                        for e in s.events
                    ],
                    [
                        {
                            "trace_id": k.trace_id.hex(),
                            "span_id": k.span_id.hex(),
                            "trace_state": k.trace_state,
                            "attributes": attribute_map(k.attributes),
                        }
                        for k in s.links
                    ],
                    s.dropped_attributes_count,
                    s.dropped_events_count,
                    s.dropped_links_count,
                )


def arrow_schema() -> pa.Schema:
    """The ``spans`` table's schema in Arrow terms (timestamps in microseconds, UTC)."""
    import pyarrow as pa

    def arrow(kind: Any) -> pa.DataType:
        if isinstance(kind, str):
            simple = {
                "string": pa.string(),
                "integer": pa.int32(),
                "long": pa.int64(),
                "double": pa.float64(),
                "boolean": pa.bool_(),
                "binary": pa.binary(),
                "date": pa.date32(),
                "timestamp": pa.timestamp("us", tz="UTC"),
            }
            return simple[kind]
        if kind["type"] == "map":
            return pa.map_(arrow(kind["keyType"]), arrow(kind["valueType"]))
        if kind["type"] == "array":
            return pa.list_(arrow(kind["elementType"]))
        return pa.struct([(f["name"], arrow(f["type"])) for f in kind["fields"]])

    fields = schemas.table("spans").schema_json["fields"]
    return pa.schema([(f["name"], arrow(f["type"])) for f in fields])


def rows_to_table(rows: list[tuple[Any, ...]], ingested_at: datetime) -> pa.Table:
    """Tuples from ``span_rows`` -> an Arrow table in the ``spans`` columns (derived ones
    computed vectorised)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = arrow_schema()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(flat_columns())
    arrays = {
        name: pa.array(values, type=schema.field(name).type)
        for name, values in zip(flat_columns(), columns, strict=True)
    }
    start, end = arrays["start_time_unix_nano"], arrays["end_time_unix_nano"]
    # microseconds as the lake computes them: floor(nanos / 1000.0) in double precision
    micros = pc.floor(pc.divide(start.cast(pa.float64(), safe=False), 1000.0)).cast(pa.int64())
    ingest_ns = int(ingested_at.timestamp()) * 1_000_000_000
    # the event's UTC day; the ingest day when the time is 0, negative or > 1 day ahead
    days = pc.if_else(
        pc.or_(pc.less_equal(start, 0), pc.greater(start, ingest_ns + NANOS_PER_DAY)),
        ingest_ns // NANOS_PER_DAY,
        pc.divide(micros, NANOS_PER_DAY // 1000),
    )
    arrays |= {
        "start_time": micros.cast(pa.timestamp("us", tz="UTC")),
        "duration_ns": pc.subtract(end, start),
        "date": days.cast(pa.int32()).cast(pa.date32()),
    }
    return pa.table([arrays[f.name] for f in schema], schema=schema)


def python_consumer(
    settings: Settings, topic: str, out_dir: str | Path, rows_per_file: int = ROWS_PER_FILE
) -> BaselineRun:
    """Baseline b: otlp_proto records on ``topic`` -> kafka-python, ``FromString``, pyarrow ->
    Parquet by ``date``, a file set every ``rows_per_file`` spans; one process, one core."""
    import pyarrow.dataset as ds
    from kafka import TopicPartition
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    out = _new_dir(out_dir)
    started, cpu = time.monotonic(), time.process_time()
    ingested_at = datetime.now(UTC)
    parquet = ds.ParquetFileFormat()
    write_options = parquet.make_write_options(compression="zstd")
    pending: list[tuple[Any, ...]] = []
    written = files = 0

    def flush() -> None:
        nonlocal written, files
        table = rows_to_table(pending, ingested_at)
        ds.write_dataset(
            table,
            out,
            format=parquet,
            file_options=write_options,
            partitioning=["date"],
            partitioning_flavor="hive",
            basename_template=f"part-{files:05d}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
        written += table.num_rows
        files += 1
        pending.clear()

    consumer = kafka_clients.consumer(
        settings,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=max(settings.max_record_bytes, 1 << 20),
        fetch_max_bytes=64 << 20,
    )
    try:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise BaselineError(f"topic {topic!r} has no partitions at {settings.kafka_bootstrap}")
        partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
        consumer.assign(partitions)
        first = consumer.beginning_offsets(partitions)
        last = consumer.end_offsets(partitions)  # read up to here, like endingOffsets latest
        for tp in partitions:
            consumer.seek(tp, first[tp])
        remaining = {tp for tp in partitions if last[tp] > first[tp]}
        idle_since = time.monotonic()
        while remaining:
            batch = consumer.poll(timeout_ms=1000, max_records=100)
            if batch:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 60:
                raise BaselineError(
                    f"no records from {topic!r} for 60 s with {len(remaining)} partitions "
                    "not read to their end"
                )
            for tp, records in batch.items():
                for record in records:
                    if record.offset < last[tp]:
                        pending.extend(
                            span_rows(ExportTraceServiceRequest.FromString(record.value))
                        )
            remaining = {tp for tp in remaining if consumer.position(tp) < last[tp]}
            if len(pending) >= rows_per_file:
                flush()
    finally:
        consumer.close()
    if pending or not written:
        flush()
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu
    return BaselineRun("python_consumer", written, seconds, 1, out, cpu_seconds)


# ---- the baselines' inputs --------------------------------------------------------------


def flat_json_records(request: ExportTraceServiceRequest) -> Iterator[bytes]:
    """One JSON object per span: the flat columns, attributes as JSON objects."""
    names = flat_columns()
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for row in span_rows(request):
        yield encode(dict(zip(names, row, strict=True))).encode()


class _TopicSink(KafkaSink):
    """A generator sink that writes only the span requests, re-encoded, to one topic."""

    def __init__(
        self, settings: Settings, topic: str, encode: Callable[[list[SimSpan]], Iterable[bytes]]
    ) -> None:
        one_topic = {"topic_spans": topic, "topic_logs": topic, "topic_metrics": topic}
        super().__init__(settings.model_copy(update=one_topic), _NoEncoder())
        self.encode = encode

    def send_spans(self, spans: list[SimSpan]) -> None:
        for value in self.encode(spans):
            self._keep("traces", value)

    def send_logs(self, logs: list[SimLog]) -> None:
        pass

    def send_metrics(self, request: Message) -> None:
        pass


class _NoEncoder:
    """``_TopicSink`` encodes spans itself and drops logs and metrics."""

    encoding = "none"

    def traces(self, spans: list[SimSpan]) -> bytes:
        raise NotImplementedError

    def logs(self, logs: list[SimLog]) -> bytes:
        raise NotImplementedError

    def metrics(self, request: Message) -> bytes:
        raise NotImplementedError


Source = GenerateOptions | Iterable[bytes]


def _produce(
    settings: Settings,
    topic: str,
    source: Source,
    from_spans: Callable[[Shop], Callable[[list[SimSpan]], Iterable[bytes]]],
    from_request: Callable[[ExportTraceServiceRequest], Iterable[bytes]],
) -> ProducedInput:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    started = time.monotonic()
    if isinstance(source, GenerateOptions):
        shop = build_shop()
        sink = _TopicSink(settings, topic, from_spans(shop))
        spans = generate(None, source, sink=sink, shop=shop).spans  # closes the sink
    else:
        spans = 0

        def from_proto(value: bytes) -> Iterable[bytes]:
            nonlocal spans
            request = ExportTraceServiceRequest.FromString(value)
            spans += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            return from_request(request)

        sink = _TopicSink(settings, topic, lambda _spans: ())
        try:
            for value in source:
                for record in from_proto(value):
                    sink._keep("traces", record)
        except BaseException:
            sink.abort()
            raise
        sink.close()
    return ProducedInput(
        topic, sink.records["traces"], spans, sink.bytes["traces"], time.monotonic() - started
    )


def produce_otlp_json(settings: Settings, topic: str, source: Source) -> ProducedInput:
    """Baseline a's input on ``topic``: one OTLP/JSON ``ExportTraceServiceRequest`` per record,
    as the Collector's ``otlp_json`` encoding writes it (no key, zstd, ``acks=all``).

    ``source``: the ``GenerateOptions`` of the run our ingest reads (the generator runs again,
    seeded, so the same spans, and its JSON encoder writes the same requests; fast), or
    otlp_proto export request bytes (each converted through the protobuf JSON mapping; slow,
    ~7k spans/s).
    """

    def from_spans(shop: Shop) -> Callable[[list[SimSpan]], Iterable[bytes]]:
        encoder = JsonEncoder(shop)
        return lambda spans: (encoder.traces(spans),)

    def from_request(request: ExportTraceServiceRequest) -> Iterable[bytes]:
        return (json.dumps(to_otlp_json(request), separators=(",", ":")).encode(),)

    return _produce(settings, topic, source, from_spans, from_request)


def produce_flat_json(settings: Settings, topic: str, source: Source) -> ProducedInput:
    """Baseline c's input on ``topic``: one flat JSON record per span (``flat_columns()``
    keys, attributes as JSON objects), from the same spans; ``source`` as for
    ``produce_otlp_json``. Each span request is encoded to otlp_proto and decoded again, so
    the records hold exactly what our ingest would read."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    def from_spans(shop: Shop) -> Callable[[list[SimSpan]], Iterable[bytes]]:
        encoder = ProtoEncoder(shop)
        return lambda spans: flat_json_records(
            ExportTraceServiceRequest.FromString(encoder.traces(spans))
        )

    return _produce(settings, topic, source, from_spans, flat_json_records)
