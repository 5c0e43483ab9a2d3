"""Producer-retry dedup of spans inside the streaming plan (before ``foreachBatch``), by key only.

A Collector (or producer) retry delivers the same export request twice: two Kafka records,
the same spans; an SDK retry may batch them differently. A span's key is (trace_id, span_id,
start_time_unix_nano), read straight off the record's bytes by ``otlp_span_keys_by_trace``
(no decode). Each Kafka record becomes one *record unit* (its coordinates, timestamp, key,
bytes and how many keys it has; passed through) and one *trace unit* per trace in it (the
trace id, its spans' ordinals in the record and their span id + start). ``SpanDedup`` (the
JVM's ``transformWithState``) keeps, per trace, the keys seen within the window and emits,
for a trace unit with spans seen before, the ordinals of those duplicates (nothing for the
others): only keys reach the state store, never decoded spans, one value per trace, and a
batch costs what its own traces cost (expiry goes through an index ordered by time).
``foreachBatch`` then decodes each record once, without its duplicates
(``records_from_units``).

The window is processing time: a trace's keys expire the window after the last batch that
added a span to it, whatever the span's time or the Kafka timestamp (a backlog read hours
later, a producer with a wrong clock, back-dated, zero-time and far-future spans: all
deduplicated alike).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from otellake.jvm_decoders import KEEPING_UDF, TRACE_KEYS_UDF
from otellake.transform.records import KAFKA_COLUMNS, keep_value_if_needed

COORDS = ["topic", "partition", "offset"]
# first byte of a unit's key (``SpanDedup.RECORD`` / ``TRACE``): a record's key is never a trace's
RECORD_PREFIX, TRACE_PREFIX = "00", "01"


# what otlp_span_keys_by_trace returns
GROUPS_TYPE = "array<struct<trace:binary,idx:array<int>,spans:binary>>"


def dedup_spans(window_seconds: int, max_record_bytes: int) -> Callable[[DataFrame], DataFrame]:
    """Kafka rows -> deduplicated units (streaming-safe)."""

    def transform(kafka: DataFrame) -> DataFrame:
        size = F.coalesce(F.length("value"), F.lit(0)).cast("bigint")
        # a record too large to decode is not scanned either: it goes to quarantine whole
        groups = F.when(size > max_record_bytes, F.lit(None)).otherwise(
            F.call_udf(TRACE_KEYS_UDF, F.col("value"))
        )
        coords = F.format_string("%s/%d/%d", *COORDS)
        record_unit = F.struct(
            F.lit("r").alias("kind"),
            F.concat(F.unhex(F.lit(RECORD_PREFIX)), F.encode(coords, "UTF-8")).alias("k"),
            F.lit(None).cast("array<int>").alias("idx"),
            F.lit(None).cast("binary").alias("spans"),
            F.col("timestamp"),
            F.col("key"),
            F.col("value"),
            F.when(
                groups.isNotNull(),
                F.aggregate(groups, F.lit(0), lambda n, g: n + F.size(g["idx"])),
            ).alias("n_keys"),
        )
        trace_units = F.transform(
            F.coalesce(groups, F.array().cast(GROUPS_TYPE)),
            lambda g: F.struct(
                F.lit("s").alias("kind"),
                F.concat(F.unhex(F.lit(TRACE_PREFIX)), g["trace"]).alias("k"),
                g["idx"].alias("idx"),
                g["spans"].alias("spans"),
                F.lit(None).cast("timestamp").alias("timestamp"),
                F.lit(None).cast("binary").alias("key"),
                F.lit(None).cast("binary").alias("value"),
                F.lit(None).cast("int").alias("n_keys"),
            ),
        )
        # one row per record and per trace in it: topic, partition, offset, kind, k, idx and
        # spans (trace units), timestamp, key, value, n_keys (record units)
        units = kafka.select(
            *COORDS, F.explode(F.concat(F.array(record_unit), trace_units)).alias("u")
        ).select(*COORDS, "u.*")
        jvm = kafka.sparkSession.sparkContext._jvm
        assert jvm is not None
        deduplicated = jvm.dev.otellake.decode.SpanDedup.apply(units._jdf, window_seconds * 1000)
        return DataFrame(deduplicated, kafka.sparkSession)

    return transform


def records_from_units(units: DataFrame, max_record_bytes: int) -> DataFrame:
    """One micro-batch of units -> decoded records (``decode_records``' shape), each decoded
    once without its duplicate spans. ``units`` is read twice: cache it."""
    records = units.where(F.col("kind") == "r").select(
        *COORDS, "timestamp", "key", "value", "n_keys"
    )
    # one row per record with a duplicate span: coordinates, the duplicates' ordinals (a
    # handful of rows in a batch, none in most: the dedup emits no unit for a trace with none)
    dropped = (
        units.where(F.col("kind") == "s")
        .groupBy(*COORDS)
        .agg(F.flatten(F.collect_list("idx")).alias("dropped"))
    )
    joined = records.join(F.broadcast(dropped), COORDS, "left")
    # null: keep every span (none was a duplicate, or the record's keys could not be read)
    keep = F.when(
        F.col("n_keys").isNull() | F.col("dropped").isNull() | (F.col("n_keys") <= 0),
        F.lit(None),
    ).otherwise(F.array_except(F.sequence(F.lit(0), F.col("n_keys") - 1), F.col("dropped")))
    size = F.coalesce(F.length("value"), F.lit(0)).cast("bigint")
    # (not size() alone: with ANSI mode off, the size of a null array is -1)
    duplicates = F.when(F.col("dropped").isNull(), 0).otherwise(F.size("dropped"))
    decoded = joined.select(
        *KAFKA_COLUMNS,
        size.alias("value_size"),
        F.when(size > max_record_bytes, F.lit(None))
        .otherwise(F.call_udf(KEEPING_UDF, F.col("value"), keep, F.col("n_keys")))
        .alias("d"),
        duplicates.alias("duplicates"),
    )
    return keep_value_if_needed(decoded, max_record_bytes)
