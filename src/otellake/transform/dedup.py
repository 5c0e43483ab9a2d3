"""Producer-retry dedup of spans inside the streaming plan (before ``foreachBatch``).

A Collector (or producer) retry delivers the same export request twice: two Kafka records,
the same spans. Each decoded record becomes one *record unit* (its Kafka coordinates, size and
decoder result without the spans; its key is unique) and one *span unit* per span, keyed by
(trace_id, span_id, start_time_unix_nano). ``dropDuplicatesWithinWatermark`` keeps the first
unit of each key; ``foreachBatch`` puts the surviving spans back into their records.

The watermark runs on the Kafka record timestamp, never on event time (an event-time
watermark would drop back-dated, zero-time and far-future spans). The timestamp is clamped to
[batch time - window, batch time], so no row is ever later than the watermark (Spark drops
late rows): a backlog read hours later, or a producer whose clock is off, loses nothing, and is
deduplicated within the window of processing time instead.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

COORDS = ["topic", "partition", "offset"]
KEYS = ["k1", "k2", "k3"]


def dedup_spans(window_seconds: int) -> Callable[[DataFrame], DataFrame]:
    """Decoded Kafka rows (``decode_records``) -> deduplicated units (streaming-safe)."""

    def transform(decoded: DataFrame) -> DataFrame:
        d_type = decoded.schema["d"].dataType
        span_type = d_type["spans"].dataType.elementType  # type: ignore[index]
        record = F.struct(
            *[F.col(c) for c in decoded.columns if c != "d"],
            F.col("d").dropFields("spans").alias("d"),
        )
        record_type = decoded.select(record.alias("r")).schema["r"].dataType

        def unit(
            kind: str, k1: Column, k2: Column, k3: Column, rec: Column, item: Column
        ) -> Column:
            return F.struct(
                F.lit(kind).alias("kind"),
                k1.alias("k1"),
                k2.alias("k2"),
                k3.cast("bigint").alias("k3"),
                rec.alias("rec"),
                item.alias("item"),
            )

        record_unit = unit(
            "r",
            F.format_string("%s/%d/%d", "topic", "partition", "offset"),  # never a trace id
            F.lit(""),
            F.lit(0),
            record,
            F.lit(None).cast(span_type),
        )
        spans = F.coalesce(F.col("d.spans"), F.array().cast(d_type["spans"].dataType))  # type: ignore[index]
        span_units = F.transform(
            spans,
            lambda s: unit(
                "s",
                s["trace_id"],
                s["span_id"],
                s["start_time_unix_nano"],
                F.lit(None).cast(record_type),
                s,
            ),
        )
        window = F.expr(f"INTERVAL {window_seconds} SECONDS")
        now = F.current_timestamp()
        kafka_time = F.least(F.greatest(F.col("timestamp"), now - window), now)
        # one row per record and per span: kafka_time, topic, partition, offset, kind, k1..k3,
        # rec (record units), item (span units)
        units = decoded.select(
            kafka_time.alias("kafka_time"),
            *COORDS,
            F.explode(F.concat(F.array(record_unit), span_units)).alias("u"),
        ).select("kafka_time", *COORDS, "u.*")
        return units.withWatermark(
            "kafka_time", f"{window_seconds} seconds"
        ).dropDuplicatesWithinWatermark(KEYS)

    return transform


def records_from_units(units: DataFrame) -> DataFrame:
    """One micro-batch of units -> decoded records again, each with its surviving spans."""
    records = units.where(F.col("kind") == "r").select("rec.*")
    spans = (
        units.where(F.col("kind") == "s")
        .groupBy(*COORDS)
        .agg(F.collect_list("item").alias("kept_spans"))
    )
    empty = F.array().cast(spans.schema["kept_spans"].dataType)
    return (
        records.join(spans, COORDS, "left")
        .withColumn("d", F.col("d").withField("spans", F.coalesce("kept_spans", empty)))
        .drop("kept_spans")
    )
