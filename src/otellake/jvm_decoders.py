"""The JVM-side OTLP decoders (``jvm/otlp-decoder``), registered as Spark SQL functions.

Spark's own ``from_protobuf`` (spark-protobuf) is not obtainable from the package registry
this project installs from, so records are decoded by generated OTLP Java classes inside a
Java UDF: no Python in the data path, unlimited AnyValue nesting, and one pass that also
renders attribute values and checks ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otellake import schemas
from otellake.settings import Settings, Signal
from otellake.signals import SIGNALS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _java_strings(spark: SparkSession, values: tuple[str, ...]) -> Any:
    gateway = spark.sparkContext._gateway
    assert gateway is not None
    array = gateway.new_array(gateway.jvm.java.lang.String, len(values))
    for i, value in enumerate(values):
        array[i] = value
    return array


SPAN_KEYS_UDF = "otlp_span_keys"
TRACE_KEYS_UDF = "otlp_span_keys_by_trace"
KEEPING_UDF = "otlp_decode_traces_keeping"

# The roles of the tables whose rows are a signal's decoded items, one row per item.
_ITEM_ROLES: tuple[schemas.Role, ...] = ("span", "log", "metric")


def dedicated_attributes(signal: Signal) -> tuple[str, tuple[schemas.DedicatedAttribute, ...]]:
    """(table, its dedicated attribute columns) of the signal's item table that has some, or
    ``("", ())`` when none has (see ``schemas``: ``dedicated_attributes``)."""
    found = [
        (name, schemas.table(name).dedicated_attributes)
        for name in schemas.tables(signal=signal)
        if schemas.role(name) in _ITEM_ROLES and schemas.table(name).dedicated_attributes
    ]
    if len(found) > 1:
        raise ValueError(
            f"signal {signal!r}: dedicated attributes in more than one table "
            f"({[name for name, _ in found]}); the decoder has one set of columns"
        )
    return found[0] if found else ("", ())


def _decoder(spark: SparkSession, settings: Settings, signal: Signal) -> tuple[Any, Any]:
    """(the decoder's Java class, a decoder built from the settings)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    cls: Any = jvm
    for part in SIGNALS[signal].decoder_class.split("."):
        cls = getattr(cls, part)
    # otlp_json: the rows are identical to otlp_proto's (the decoder turns the Collector's
    # JSON, hex ids and all, into the same protobuf first)
    options = jvm.dev.otellake.decode.DecoderOptions.of(
        settings.encoding == "otlp_json",
        settings.max_value_bytes,
        _java_strings(spark, settings.attr_drop),
        _java_strings(spark, settings.attr_hash),
    )
    decoder = cls(options)
    table, dedicated = dedicated_attributes(signal)
    if dedicated:
        # A copy whose spans carry these columns right after span_attributes (the schema
        # file's order and types), filled from the attributes instead of their maps.
        decoder = decoder.withDedicated(
            _java_strings(spark, tuple(d.column for d in dedicated)),
            _java_strings(spark, tuple(d.key for d in dedicated)),
            _java_strings(spark, tuple(d.map for d in dedicated)),
            _java_strings(spark, tuple(schemas.column_type(table, d.column) for d in dedicated)),
        )
    return cls, decoder


def register(spark: SparkSession, settings: Settings, signal: Signal) -> str:
    """Register the decoder of ``signal`` for this session; returns the SQL function name.

    For a signal deduplicated by span keys (traces) it also registers
    ``otlp_span_keys(value)`` (the dedup keys of a record's valid spans, read off the wire),
    ``otlp_span_keys_by_trace(value)`` (the same keys grouped by trace) and
    ``otlp_decode_traces_keeping(value, kept, n_keys)`` (the decoder keeping only the spans
    the dedup let through): see ``transform.dedup``.
    """
    definition = SIGNALS[signal]
    cls, decoder = _decoder(spark, settings, signal)
    udfs = spark._jsparkSession.udf()
    row_type = decoder.rowType()
    udfs.register(definition.sql_function, decoder, row_type)
    if definition.stream_dedup == "span_keys":
        udfs.register(SPAN_KEYS_UDF, decoder.keys(), cls.keysType())
        udfs.register(TRACE_KEYS_UDF, decoder.traceKeys(), cls.traceKeysType())
        udfs.register(KEEPING_UDF, decoder.keeping(), row_type)
    return definition.sql_function
