"""Producer-retry dedup of spans inside the streaming plan (before ``foreachBatch``), by key only.

A Collector (or producer) retry delivers the same export request twice: two Kafka records,
the same spans; an SDK retry may batch them differently. A span's key is (trace_id, span_id,
start_time_unix_nano), read straight off the record's bytes by ``otlp_span_keys`` (no decode).
Each Kafka record becomes one *record unit* (its coordinates, timestamp, key, bytes and how
many keys it has; passed through) and one *span unit* per valid span (the key and the span's
ordinal in the record). ``SpanDedup`` (the JVM's ``transformWithState``) keeps the first unit
of each key not seen within the window and stores the key with the window as its time to
live: only keys reach the state store, never decoded spans, and a batch costs what its own
keys cost (expiry goes through an index ordered by time). ``foreachBatch`` then decodes each
record once, keeping the spans whose units survived (``records_from_units``).

The window is processing time: a key expires the window after the batch that stored it,
whatever the span's time or the Kafka timestamp (a backlog read hours later, a producer with a
wrong clock, back-dated, zero-time and far-future spans: all deduplicated alike).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from otellake.jvm_decoders import KEEPING_UDF, SPAN_KEYS_UDF
from otellake.transform.records import KAFKA_COLUMNS, keep_value_if_needed

COORDS = ["topic", "partition", "offset"]
# first byte of a unit's key (``SpanDedup.RECORD`` / ``SPAN``): a record's key never equals a span's
RECORD_PREFIX, SPAN_PREFIX = "00", "01"


def dedup_spans(window_seconds: int, max_record_bytes: int) -> Callable[[DataFrame], DataFrame]:
    """Kafka rows -> deduplicated units (streaming-safe)."""

    def transform(kafka: DataFrame) -> DataFrame:
        size = F.coalesce(F.length("value"), F.lit(0)).cast("bigint")
        # a record too large to decode is not scanned either: it goes to quarantine whole
        keys = F.when(size > max_record_bytes, F.lit(None)).otherwise(
            F.call_udf(SPAN_KEYS_UDF, F.col("value"))
        )
        coords = F.format_string("%s/%d/%d", *COORDS)
        record_unit = F.struct(
            F.lit("r").alias("kind"),
            F.concat(F.unhex(F.lit(RECORD_PREFIX)), F.encode(coords, "UTF-8")).alias("k"),
            F.lit(None).cast("int").alias("idx"),
            F.col("timestamp"),
            F.col("key"),
            F.col("value"),
            F.when(keys.isNotNull(), F.size(keys)).cast("int").alias("n_keys"),
        )
        span_units = F.transform(
            F.coalesce(keys, F.array().cast("array<binary>")),
            lambda k, i: F.struct(
                F.lit("s").alias("kind"),
                F.concat(F.unhex(F.lit(SPAN_PREFIX)), k).alias("k"),
                i.alias("idx"),
                F.lit(None).cast("timestamp").alias("timestamp"),
                F.lit(None).cast("binary").alias("key"),
                F.lit(None).cast("binary").alias("value"),
                F.lit(None).cast("int").alias("n_keys"),
            ),
        )
        # one row per record and per valid span: topic, partition, offset, kind, k, idx (span
        # units), timestamp, key, value, n_keys (record units)
        units = kafka.select(
            *COORDS, F.explode(F.concat(F.array(record_unit), span_units)).alias("u")
        ).select(*COORDS, "u.*")
        jvm = kafka.sparkSession.sparkContext._jvm
        assert jvm is not None
        deduplicated = jvm.dev.otellake.decode.SpanDedup.apply(units._jdf, window_seconds * 1000)
        return DataFrame(deduplicated, kafka.sparkSession)

    return transform


def records_from_units(units: DataFrame, max_record_bytes: int) -> DataFrame:
    """One micro-batch of units -> decoded records (``decode_records``' shape), each decoded
    once with only its surviving spans. ``units`` is read twice: cache it."""
    records = units.where(F.col("kind") == "r").select(
        *COORDS, "timestamp", "key", "value", "n_keys"
    )
    # one row per record with a surviving span: coordinates, how many survived, their ordinals
    kept = (
        units.where(F.col("kind") == "s")
        .groupBy(*COORDS)
        .agg(F.count(F.lit(1)).alias("kept_n"), F.collect_list("idx").alias("kept"))
    )
    joined = records.join(F.broadcast(kept), COORDS, "left")
    # null: keep every span (none was a duplicate, or the record's keys could not be read)
    keep = F.when(
        F.col("n_keys").isNull() | (F.coalesce(F.col("kept_n"), F.lit(0)) == F.col("n_keys")),
        F.lit(None),
    ).otherwise(F.coalesce(F.col("kept"), F.array().cast("array<int>")))
    size = F.coalesce(F.length("value"), F.lit(0)).cast("bigint")
    decoded = joined.select(
        *KAFKA_COLUMNS,
        size.alias("value_size"),
        F.when(size > max_record_bytes, F.lit(None))
        .otherwise(F.call_udf(KEEPING_UDF, F.col("value"), keep, F.col("n_keys")))
        .alias("d"),
        (F.coalesce(F.col("n_keys"), F.lit(0)) - F.coalesce(F.col("kept_n"), F.lit(0))).alias(
            "duplicates"
        ),
    )
    return keep_value_if_needed(decoded, max_record_bytes)
