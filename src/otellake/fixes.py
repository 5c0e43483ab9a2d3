"""Fixing mistakes in the lake: delete a trace or a service's old data (logged), and replay
quarantined records after a decoder fix (exactly once, marked ``replayed_at``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otellake import lake, schemas
from otellake.errors import BadInput
from otellake.maintain import lake_tables
from otellake.settings import Settings, Signal

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

Emit = Callable[[str], None]
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def trace_tables() -> tuple[str, ...]:
    """Tables holding a trace's rows: those with a ``trace_id`` column."""
    return schemas.tables(column="trace_id")


def service_tables() -> tuple[str, ...]:
    """Tables holding a service's telemetry: those a signal's ingest writes that have a
    ``service_name`` column (not ``anomalies``, which is derived)."""
    return tuple(t for t in schemas.tables(column="service_name") if schemas.table(t).signal)


@dataclass(frozen=True)
class DeleteRequest:
    trace_id: str | None = None
    service: str | None = None
    before: date | None = None

    @classmethod
    def parse(cls, trace_id: str | None, service: str | None, before: str | None) -> DeleteRequest:
        if trace_id is not None:
            if service is not None or before is not None:
                raise BadInput("give either --trace-id, or --service with --before; not both")
            if not TRACE_ID.match(trace_id):
                raise BadInput(f"trace id {trace_id!r}; expected 32 lowercase hex digits")
            return cls(trace_id=trace_id)
        if service is None or before is None:
            raise BadInput("give --trace-id ID, or --service S together with --before DATE")
        try:
            day = date.fromisoformat(before)
        except ValueError:
            raise BadInput(f"--before {before!r}; expected a date like 2026-11-01") from None
        return cls(service=service, before=day)

    def tables(self) -> tuple[str, ...]:
        return trace_tables() if self.trace_id else service_tables()

    def predicate(self) -> Column:
        """Rows to delete, as a Column (user values are literals, never SQL text)."""
        from pyspark.sql import functions as F

        if self.trace_id:
            return F.col("trace_id") == F.lit(self.trace_id)
        assert self.service is not None and self.before is not None
        return (F.col("service_name") == F.lit(self.service)) & (F.col("date") < F.lit(self.before))

    def describe(self) -> dict[str, Any]:
        if self.trace_id:
            return {"trace_id": self.trace_id}
        return {"service": self.service, "before": str(self.before)}


@dataclass(frozen=True)
class DeleteResult:
    """What a delete did (or, dry, would do): rows per table and each table's new version."""

    at: str
    dry_run: bool
    request: dict[str, str]
    rows: dict[str, int]
    versions: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        """The contract's JSON shape (also the audit log's line)."""
        return asdict(self)


@dataclass(frozen=True)
class SignalReplay:
    """One signal's part of a replay: records read again, rows inserted per table, and the
    quarantine rows marked replayed or still failing."""

    records: int
    inserted: dict[str, int]
    marked_replayed: int
    still_quarantined: int


@dataclass(frozen=True)
class ReplayResult:
    at: str
    signals: dict[str, SignalReplay]
    other_topics: int  # quarantine rows from topics this configuration does not read

    def as_json(self) -> dict[str, Any]:
        """The contract's JSON shape (also the replay log's line)."""
        return asdict(self)


def audit_log(settings: Settings) -> Path:
    return settings.home / "maintenance" / "deletes.jsonl"


def delete_rows(
    spark: SparkSession,
    settings: Settings,
    request: DeleteRequest,
    *,
    dry_run: bool = False,
    emit: Emit = lambda _m: None,
) -> DeleteResult:
    """Delta DELETE of the request's rows in each table that has them; the files go at the next
    VACUUM. Each commit carries the request as its ``userMetadata`` (see `DESCRIBE HISTORY`),
    and a line is appended to ``$OTELLAKE_HOME/maintenance/deletes.jsonl``."""
    from delta.tables import DeltaTable

    present = set(lake_tables(settings))
    counts: dict[str, int] = {}
    versions: dict[str, int] = {}
    note = json.dumps({"otellake": "delete", **request.describe()})
    for table in request.tables():
        if table not in present:
            continue
        path = lake.table_path(settings, table)
        if dry_run:
            counts[table] = spark.read.format("delta").load(path).where(request.predicate()).count()
            continue
        spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", note)
        try:
            delta = DeltaTable.forPath(spark, path)
            delta.delete(request.predicate())
            last = delta.history(1).select("version", "operation", "operationMetrics").first()
        finally:
            spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")
        if last is not None and last.operation == "DELETE":
            counts[table] = int((last.operationMetrics or {}).get("numDeletedRows", 0))
            versions[table] = int(last.version)
        else:  # nothing matched: Delta commits nothing
            counts[table] = 0
    result = DeleteResult(
        at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        dry_run=dry_run,
        request=request.describe(),
        rows=counts,
        versions=versions,
    )
    emit(
        f"{'would delete' if dry_run else 'deleted'} "
        + ", ".join(f"{n} rows from {t}" for t, n in counts.items())
        + (" (the files go at the next VACUUM)" if not dry_run else "")
    )
    log = audit_log(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as f:
        f.write(json.dumps(result.as_json()) + "\n")
    return result


REPLAYABLE_REASON_HINT = (
    "too_large records keep only their first OTELLAKE_MAX_VALUE_BYTES, so they cannot be "
    "replayed from the lake; re-read them from Kafka with `ingest --starting-timestamp`"
)


COORDS = ["kafka_topic", "kafka_partition", "kafka_offset"]


def replay_quarantine(
    spark: SparkSession,
    settings: Settings,
    *,
    reason: str | None = None,
    since: str | None = None,
    emit: Emit = lambda _m: None,
) -> ReplayResult:
    """Decode the quarantined records again (after a decoder fix) and write what now decodes
    with insert-only MERGEs; mark the quarantine rows that no longer fail ``replayed_at``.

    Exactly once: items already in the lake (a record's good spans landed the first time) are
    not inserted again, and running the replay twice inserts nothing the second time. A row
    whose record or item still fails stays unmarked (and is not quarantined twice).
    """
    from pyspark.sql import functions as F

    now = datetime.now(UTC).replace(microsecond=0)
    pending = _pending_rows(spark, settings, reason, since, now).persist()
    signals: dict[str, SignalReplay] = {}
    try:
        known = set(settings.topics.values())
        other = pending.where(~F.col("kafka_topic").isin(sorted(known))).count()
        if other:
            emit(f"{other} quarantine rows come from topics this configuration does not read")
        for signal, topic in settings.topics.items():
            rows = pending.where(F.col("kafka_topic") == F.lit(topic))
            replayed = _replay_signal(spark, settings, signal, rows, now, emit)
            if replayed is None:
                continue
            signals[signal] = replayed
            emit(
                f"{signal}: replayed {replayed.records} records: inserted "
                + ", ".join(f"{n} {t} rows" for t, n in replayed.inserted.items())
                + f"; {replayed.marked_replayed} quarantine rows marked replayed, "
                f"{replayed.still_quarantined} still failing"
            )
    finally:
        pending.unpersist()
    result = ReplayResult(now.strftime("%Y-%m-%dT%H:%M:%SZ"), signals, other)
    log = settings.home / "maintenance" / "replays.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as f:
        f.write(json.dumps(result.as_json()) + "\n")
    return result


def _pending_rows(
    spark: SparkSession, settings: Settings, reason: str | None, since: str | None, now: datetime
) -> DataFrame:
    """The quarantine rows a replay takes: not replayed yet, replayable, and matching the
    reason and window asked for."""
    from pyspark.sql import functions as F

    from otellake.durations import parse_duration

    if reason == "too_large":
        raise BadInput(f"--reason too_large: {REPLAYABLE_REASON_HINT}")
    path = lake.table_path(settings, "quarantine")
    if "quarantine" not in lake_tables(settings):
        raise BadInput(f"no quarantine table at {path}; has `otellake ingest` run?")
    pending = (
        spark.read.format("delta")
        .load(path)
        .where(F.col("replayed_at").isNull() & (F.col("reason") != "too_large"))
    )
    if reason is not None:
        pending = pending.where(F.col("reason") == F.lit(reason))
    if since is not None:
        try:
            window = parse_duration(since)
        except ValueError as exc:
            raise BadInput(f"--since: {exc}") from None
        pending = pending.where(F.col("ingested_at") >= F.lit(now - window))
    return pending


def _replay_signal(
    spark: SparkSession,
    settings: Settings,
    signal: Signal,
    rows: DataFrame,
    now: datetime,
    emit: Emit,
) -> SignalReplay | None:
    """Replay one signal's quarantined records (``rows``); None when it has none."""
    from pyspark.sql import functions as F

    from otellake.ingest.batch import BatchWriter, prepare
    from otellake.ingest.progress import ProgressReporter
    from otellake.transform.records import decode_records, quarantine_rows

    records = rows.dropDuplicates(COORDS).select(
        F.col("kafka_topic").alias("topic"),
        F.col("kafka_partition").alias("partition"),
        F.col("kafka_offset").alias("offset"),
        F.col("kafka_timestamp").alias("timestamp"),
        F.col("kafka_key").alias("key"),
        "value",
    )
    n_records = records.count()
    if n_records == 0:
        return None
    # (counted now: the writes below refresh what `rows` reads)
    n_rows = rows.count()
    fixed = rows.select(*COORDS, "item_path").collect()
    prepared = prepare(spark, settings, signal)
    writer = BatchWriter(
        settings,
        prepared,
        ProgressReporter(settings, emit),
        merge_into=spark,
        query_id=f"replay-{now:%Y%m%dT%H%M%S}",
    )
    stats = writer.write(records, 0)
    # What still fails after the fix: those quarantine rows stay unmarked.
    still = (
        records.transform(decode_records(prepared.udf_name, settings.max_record_bytes))
        .transform(quarantine_rows(now, settings.max_record_bytes, settings.max_value_bytes))
        .select(*COORDS, "item_path")
    )
    failing = {tuple(r) for r in still.collect()}
    fixed = [r for r in fixed if tuple(r) not in failing]
    if fixed:
        _mark_replayed(
            spark,
            settings,
            spark.createDataFrame(fixed, rows.select(*COORDS, "item_path").schema),
            now,
        )
    return SignalReplay(n_records, stats.inserted, len(fixed), n_rows - len(fixed))


def _mark_replayed(
    spark: SparkSession, settings: Settings, fixed: DataFrame, now: datetime
) -> None:
    """Set ``replayed_at`` on the quarantine rows of ``fixed`` (coordinates and item path)."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    on = " AND ".join(f"t.`{c}` = s.`{c}`" for c in [*COORDS, "item_path"])
    (
        DeltaTable.forPath(spark, lake.table_path(settings, "quarantine"))
        .alias("t")
        .merge(fixed.alias("s"), f"{on} AND t.replayed_at IS NULL")
        .whenMatchedUpdate(set={"replayed_at": F.lit(now)})
        .execute()
    )
