"""Shared by every signal: the Kafka record columns, size checks, event dates, quarantine rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from otellake import schemas

KAFKA_COLUMNS = ["topic", "partition", "offset", "timestamp", "key", "value"]
NANOS_PER_DAY = 86_400 * 1_000_000_000


def decode_records(udf_name: str, max_record_bytes: int) -> Callable[[DataFrame], DataFrame]:
    """Kafka rows -> the same rows plus ``value_size`` and ``d``, the JVM decoder's struct.

    Records larger than ``max_record_bytes`` are not decoded (``d`` is NULL); they become
    ``too_large`` quarantine rows.
    """

    def transform(kafka: DataFrame) -> DataFrame:
        size = F.coalesce(F.length("value"), F.lit(0)).cast("bigint")
        decoded = kafka.select(
            *KAFKA_COLUMNS,
            size.alias("value_size"),
            F.when(size > max_record_bytes, F.lit(None))
            .otherwise(F.call_udf(udf_name, F.col("value")))
            .alias("d"),
        )
        return keep_value_if_needed(decoded, max_record_bytes)

    return transform


def keep_value_if_needed(decoded: DataFrame, max_record_bytes: int) -> DataFrame:
    """Keep the raw bytes only where quarantine needs them: a batch is kept between its
    outputs, and good records' bytes would double what it holds."""
    needed = (
        (F.col("value_size") > max_record_bytes)
        | F.col("d.error_reason").isNotNull()
        | (F.size("d.rejects") > 0)
    )
    return decoded.withColumn("value", F.when(needed, F.col("value")))


def event_date(nanos: Column, ingested_at: datetime) -> Column:
    """UTC day of an event time; the ingest day when the time is 0, negative or > 1 day ahead.

    The original nanos are kept as they came; only the partition is chosen defensively, so a
    zero or far-future timestamp never lands in 1970 or in 2262.
    """
    ingest_nanos = int(ingested_at.timestamp()) * 1_000_000_000
    return _event_date(nanos, F.lit(ingest_nanos), F.lit(ingested_at.date()))


def _event_date(nanos: Column, ingest_nanos: Column, ingest_day: Column) -> Column:
    """The date rule of :func:`event_date`, with the ingest time as columns."""
    return F.when(
        (nanos <= 0) | (nanos > ingest_nanos + F.lit(NANOS_PER_DAY)), ingest_day
    ).otherwise(F.to_date(nanos_to_timestamp(nanos)))


# The batch's ingest time, attached to its rows as columns by ``flatten_items``.
INGEST_NANOS, INGEST_DAY = "__ingest_nanos", "__ingest_day"


def batch_event_date(nanos: Column) -> Column:
    """:func:`event_date` with the ingest time read from the columns ``flatten_items``
    attaches instead of literals. A literal is compiled into Spark's generated code, so every
    batch compiled (and the JIT warmed up) new classes; with columns the code is the same
    from batch to batch (1M spans: steady batches of 240k spans took 9.9 s instead of 12.4 s).
    """
    return _event_date(nanos, F.col(INGEST_NANOS), F.col(INGEST_DAY))


def with_ingest_time(rows: DataFrame, ingested_at: datetime) -> DataFrame:
    """``rows`` plus the columns :func:`batch_event_date` reads (a one-row broadcast).

    The row is an inline table, which Spark broadcasts from the driver; a DataFrame made
    with ``createDataFrame`` is an RDD, and broadcasting it ran a Spark job in every table's
    write (0.1-0.25 s each at 2k spans/s)."""
    ingest_nanos = int(ingested_at.timestamp()) * 1_000_000_000
    batch = rows.sparkSession.sql(
        f"SELECT * FROM VALUES ({ingest_nanos}L, DATE'{ingested_at.date().isoformat()}') "
        f"AS batch({INGEST_NANOS}, {INGEST_DAY})"
    )
    return rows.crossJoin(F.broadcast(batch))


def nanos_to_timestamp(nanos: Column) -> Column:
    return F.timestamp_micros(F.floor(nanos / 1000).cast("bigint"))


UNKNOWN_SERVICE = "unknown_service"


def service_name(resource_attributes: Column) -> Column:
    """Resource attribute ``service.name``, else ``unknown_service``."""
    return F.coalesce(
        F.nullif(resource_attributes["service.name"], F.lit("")), F.lit(UNKNOWN_SERVICE)
    )


def flatten_items(
    field: str, table: str, derived: Callable[[], dict[str, Column]], ingested_at: datetime
) -> Callable[[DataFrame], DataFrame]:
    """Explode the decoder's ``d.<field>`` array into the rows of ``table``.

    Columns named in ``derived`` are computed (they may use :func:`batch_event_date`); every
    other column of the table's schema comes from the decoded item by name, in the schema's
    order.
    """

    def transform(decoded: DataFrame) -> DataFrame:
        # one row per item: the item's fields and the batch's ingest time
        items = with_ingest_time(
            decoded.select(F.explode(f"d.{field}").alias("item")), ingested_at
        ).select("item.*", INGEST_NANOS, INGEST_DAY)
        computed = derived()
        return items.select(
            *[
                computed[c].alias(c) if c in computed else F.col(c)
                for c in schemas.table(table).columns
            ]
        )

    return transform


def quarantine_rows(
    ingested_at: datetime, max_record_bytes: int, max_value_bytes: int
) -> Callable[[DataFrame], DataFrame]:
    """Decoded records -> one quarantine row per bad record and per bad item inside a record.

    Reasons: ``too_large`` (value cut to ``max_value_bytes``), ``empty_record``,
    ``proto_decode`` / ``json_decode`` (from the decoder) and item-level reasons such as
    ``invalid_id`` (with the item's path; the record's good items land).
    """

    def transform(decoded: DataFrame) -> DataFrame:
        base = [
            F.col("topic").alias("kafka_topic"),
            F.col("partition").cast("int").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.col("timestamp").alias("kafka_timestamp"),
            F.col("key").alias("kafka_key"),
        ]
        too_large = decoded.where(F.col("value_size") > max_record_bytes).select(
            *base,
            F.substring("value", 1, max_value_bytes).alias("value"),
            "value_size",
            F.lit("too_large").alias("reason"),
            F.lit("").alias("item_path"),
            F.format_string(
                "record of %d bytes exceeds OTELLAKE_MAX_RECORD_BYTES=%d",
                "value_size",
                F.lit(max_record_bytes),
            ).alias("detail"),
        )
        whole = decoded.where(F.col("d.error_reason").isNotNull()).select(
            *base,
            "value",
            "value_size",
            F.col("d.error_reason").alias("reason"),
            F.lit("").alias("item_path"),
            F.coalesce(F.col("d.error_detail"), F.lit("")).alias("detail"),
        )
        items = (
            decoded.where(F.size("d.rejects") > 0)
            .select(*base, "value", "value_size", F.explode("d.rejects").alias("r"))
            .select(
                "kafka_topic",
                "kafka_partition",
                "kafka_offset",
                "kafka_timestamp",
                "kafka_key",
                "value",
                "value_size",
                F.col("r.reason").alias("reason"),
                F.col("r.item_path").alias("item_path"),
                F.col("r.detail").alias("detail"),
            )
        )
        # one row per bad record or bad item: kafka coordinates, raw value, reason, item_path
        return (
            too_large.unionByName(whole)
            .unionByName(items)
            .withColumn("ingested_at", F.lit(ingested_at))
            .withColumn("replayed_at", F.lit(None).cast("timestamp"))
            .withColumn("date", F.lit(ingested_at.date()))
            .select(*schemas.table("quarantine").columns)
        )

    return transform
