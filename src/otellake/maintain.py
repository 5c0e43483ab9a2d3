"""Lake maintenance: TTL per table, compaction per date partition (spans clustered by trace id),
VACUUM; with the files, bytes and rows of each table before and after.

Every step is a separate Delta transaction that never rewrites a file an ingest batch could be
writing: ingest only appends (blind appends do not conflict with OPTIMIZE, or with a DELETE of
partitions the batch does not touch), so maintenance runs while ingest runs. A step that still
meets a conflicting commit is retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otellake import lake, object_store, schemas
from otellake.errors import BadInput, OtelLakeError
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Emit = Callable[[str], None]
TARGET_FILE_BYTES = 128 << 20
# A partition is compacted when it holds at least this many files smaller than half the target.
MIN_SMALL_FILES = 2
# Spans are clustered by trace id, so a trace lookup reads one file (and row group) per day.
RETRIES = 5

# Called with a step's description and the attempt number (1, 2, ...) before each attempt of a
# Delta command; the maintenance tests commit a conflicting change through it at a known
# moment (tests/maintain/test_maintain_conflicts.py). None otherwise.
before_attempt: Callable[[str, int], None] | None = None


@dataclass
class TableState:
    """The files of a table's current snapshot (from the Delta log, no data read)."""

    files: int = 0
    bytes: int = 0
    rows: int = 0
    partitions: int = 0

    @property
    def bytes_per_row(self) -> float | None:
        return round(self.bytes / self.rows, 2) if self.rows else None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "bytes_per_row": self.bytes_per_row}


@dataclass
class PartitionFiles:
    date: date | None
    files: int
    small_files: int
    bytes: int
    rows: int


@dataclass
class TableReport:
    table: str
    before: dict[str, Any]
    after: dict[str, Any] | None = None
    ttl: dict[str, Any] = field(default_factory=dict)
    compaction: dict[str, Any] = field(default_factory=dict)
    vacuum: dict[str, Any] = field(default_factory=dict)
    lookup: dict[str, Any] | None = None
    # the steps that met a conflicting commit, once per retry
    retried: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _add_actions(path: str, settings: Settings | None = None) -> list[dict[str, Any]]:
    """The current snapshot's files (delta-rs; ``settings`` carry an S3 lake's endpoint)."""
    import pyarrow as pa
    from deltalake import DeltaTable

    delta = object_store.open_delta_table(settings, path) if settings else DeltaTable(path)
    rows: list[dict[str, Any]] = pa.table(delta.get_add_actions(flatten=True)).to_pylist()
    return rows


def table_state(path: str, settings: Settings | None = None) -> TableState:
    actions = _add_actions(path, settings)
    return TableState(
        files=len(actions),
        bytes=sum(a["size_bytes"] for a in actions),
        rows=sum(a["num_records"] or 0 for a in actions),
        partitions=len({a.get("partition.date") for a in actions}),
    )


def partition_files(
    path: str, target_bytes: int, settings: Settings | None = None
) -> list[PartitionFiles]:
    by_date: dict[date | None, list[dict[str, Any]]] = {}
    for a in _add_actions(path, settings):
        by_date.setdefault(a.get("partition.date"), []).append(a)
    return [
        PartitionFiles(
            d,
            len(files),
            sum(1 for f in files if f["size_bytes"] < target_bytes // 2),
            sum(f["size_bytes"] for f in files),
            sum(f["num_records"] or 0 for f in files),
        )
        for d, files in sorted(by_date.items(), key=lambda kv: (kv[0] is None, kv[0]))
    ]


def lake_tables(settings: Settings) -> list[str]:
    """Every Delta table under the lake root (schema tables and analytics/anomaly tables)."""
    root = settings.lake.rstrip("/")
    if "://" in root and not root.startswith("file://"):
        names = schemas.table_names()
    else:
        base = Path(root.removeprefix("file://"))
        names = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    return [n for n in names if object_store.is_delta_table(settings, lake.table_path(settings, n))]


def trace_lookup(path: str, trace_id: str) -> dict[str, Any]:
    """How a one-trace lookup fares: files whose Delta min/max trace_id admit the id (what
    Spark and delta-rs read), and DuckDB's time over the snapshot's Parquet files (it also
    skips row groups by their statistics). Best of three runs."""
    import duckdb
    from deltalake import DeltaTable

    actions = _add_actions(path)
    candidates = [
        a
        for a in actions
        if (a.get("min.trace_id") or "") <= trace_id <= (a.get("max.trace_id") or "\uffff")
    ]
    files = DeltaTable(path).file_uris()
    con = duckdb.connect()
    best = float("inf")
    rows = 0
    for _ in range(3):
        t0 = time.perf_counter()
        result = con.execute(
            "SELECT count(*) FROM read_parquet(?, hive_partitioning = true) WHERE trace_id = ?",
            [files, trace_id],
        ).fetchone()
        best = min(best, time.perf_counter() - t0)
        rows = int(result[0]) if result else 0
    con.close()
    return {
        "trace_id": trace_id,
        "rows": rows,
        "files": len(actions),
        "files_admitting_id": len(candidates),
        "duckdb_seconds": round(best, 4),
    }


def sample_trace_id(path: str) -> str | None:
    """A trace id present in the table: the smallest id of its largest file."""
    actions = _add_actions(path)
    if not actions:
        return None
    largest = max(actions, key=lambda a: a["size_bytes"])
    return largest.get("min.trace_id")


@contextmanager
def _spark_conf(spark: SparkSession, values: dict[str, str]) -> Iterator[None]:
    previous = {k: spark.conf.get(k, None) for k in values}
    for k, v in values.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, old in previous.items():
            if old is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, old)


def _with_retries(
    what: str, action: Callable[[], Any], emit: Emit, retried: list[str] | None = None
) -> Any:
    """Run a Delta command; a concurrent commit that conflicts with it makes it start over
    (each retry noted in ``retried``)."""
    for attempt in range(1, RETRIES + 1):
        if before_attempt is not None:
            before_attempt(what, attempt)
        try:
            return action()
        except lake.commit_conflicts() as exc:
            if attempt == RETRIES:
                raise OtelLakeError(
                    f"{what}: conflicting commits {RETRIES} times in a row: {exc}"
                ) from None
            emit(f"{what}: a concurrent commit conflicted ({type(exc).__name__}); retrying")
            if retried is not None:
                retried.append(what)
            time.sleep(0.5 * attempt)
    return None


def _is_date_partitioned(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    detail = DeltaTable.forPath(spark, path).detail().select("partitionColumns").first()
    return detail is not None and list(detail[0]) == ["date"]


def maintain_table(
    spark: SparkSession,
    settings: Settings,
    table: str,
    *,
    dry_run: bool,
    emit: Emit,
    target_bytes: int = TARGET_FILE_BYTES,
    today: date | None = None,
) -> TableReport:
    """TTL, then compaction, then VACUUM of one table (each only reported when ``dry_run``)."""
    from delta.tables import DeltaTable

    t0 = time.monotonic()
    path = lake.table_path(settings, table)
    report = TableReport(table, table_state(path, settings).as_json())
    run = _TableRun(spark, settings, table, path, dry_run, emit, report)
    # The lookup probe reads the files with DuckDB's own reader: local lakes only (on object
    # storage that needs DuckDB's httpfs extension, which is downloaded at run time).
    if table == "spans" and not object_store.is_s3(path):
        tid = sample_trace_id(path)
        report.lookup = {"before": trace_lookup(path, tid)} if tid else None
    delta = DeltaTable.forPath(spark, path)
    partitioned = _is_date_partitioned(spark, path)
    parts = partition_files(path, target_bytes, settings) if partitioned else []
    expired = _expire(run, delta, parts, today or datetime.now(UTC).date())
    live = [p for p in parts if p not in expired] if partitioned else []
    _compact(run, live, partitioned, target_bytes)
    _vacuum(run)
    report.after = table_state(path, settings).as_json()
    if report.lookup is not None:
        report.lookup["after"] = trace_lookup(path, report.lookup["before"]["trace_id"])
    report.seconds = round(time.monotonic() - t0, 2)
    return report


@dataclass
class _TableRun:
    """One table's maintenance under way: what each of its steps needs."""

    spark: SparkSession
    settings: Settings
    table: str
    path: str
    dry_run: bool
    emit: Emit
    report: TableReport


def _expire(
    run: _TableRun, delta: Any, parts: list[PartitionFiles], today: date
) -> list[PartitionFiles]:
    """1. TTL: whole date partitions older than the table's retention; the expired ones."""
    from pyspark.sql import functions as F

    table, report = run.table, run.report
    days = run.settings.retention_days_for(table)
    cutoff = today - timedelta(days=days)
    expired = [p for p in parts if p.date is not None and p.date < cutoff]
    report.ttl = {
        "retention_days": days,
        "cutoff": cutoff.isoformat(),
        "partitions": [p.date.isoformat() for p in expired if p.date],
        "rows": sum(p.rows for p in expired),
        "files": sum(p.files for p in expired),
    }
    if expired and not run.dry_run:
        _with_retries(
            f"{table}: TTL delete before {cutoff}",
            lambda: delta.delete(F.col("date") < F.lit(cutoff)),
            run.emit,
            report.retried,
        )
    if expired:
        run.emit(
            f"{table}: {'would drop' if run.dry_run else 'dropped'} {len(expired)} partitions "
            f"before {cutoff} ({report.ttl['rows']} rows; retention {days} days)"
        )
    return expired


def _compact(
    run: _TableRun, live: list[PartitionFiles], partitioned: bool, target_bytes: int
) -> None:
    """2. Compaction of each partition with small files (Z-ordered by the table's
    ``cluster_by`` column where its schema names one, else bin-packing)."""
    from delta.tables import DeltaTable

    spark, path, table, report = run.spark, run.path, run.table, run.report
    cluster_by = schemas.table(table).cluster_by
    todo = [p for p in live if p.small_files >= MIN_SMALL_FILES]
    report.compaction = {
        "mode": f"zorder({cluster_by})" if cluster_by else "bin-packing",
        "target_file_bytes": target_bytes,
        "partitions": [
            {"date": p.date.isoformat() if p.date else None, "files": p.files, "bytes": p.bytes}
            for p in todo
        ],
    }
    optimize_conf = {
        "spark.databricks.delta.optimize.maxFileSize": str(target_bytes),
        "spark.databricks.delta.optimize.minFileSize": str(target_bytes // 2),
    }
    unpartitioned_files = 0 if partitioned else table_state(path, run.settings).files
    if not run.dry_run and (todo or unpartitioned_files >= MIN_SMALL_FILES):
        with _spark_conf(spark, optimize_conf):
            wheres: list[str | None] = [
                f"date = '{p.date.isoformat()}'" if p.date else "date IS NULL" for p in todo
            ]
            for where in wheres or [None]:

                def optimize(where: str | None = where) -> Any:
                    builder = DeltaTable.forPath(spark, path).optimize()
                    if where:
                        builder = builder.where(where)
                    if cluster_by:
                        return builder.executeZOrderBy(cluster_by)
                    return builder.executeCompaction()

                what = f"{table}: optimize {where or 'table'}"
                _with_retries(what, optimize, run.emit, report.retried)
    if todo:
        run.emit(
            f"{table}: {'would compact' if run.dry_run else 'compacted'} {len(todo)} partitions "
            f"({sum(p.files for p in todo)} files, {report.compaction['mode']})"
        )


def _vacuum(run: _TableRun) -> None:
    """3. VACUUM: files no snapshot within the retention needs (including what the TTL and
    the compaction removed)."""
    spark, path = run.spark, run.path
    hours = run.settings.vacuum_hours
    # Delta 4 ignores RETAIN N HOURS unless N is 0 (it warns, then keeps the table's 7-day
    # `delta.deletedFileRetentionDuration`): OTELLAKE_VACUUM_HOURS=24 kept files for 7 days.
    vacuum_conf = {"spark.databricks.delta.vacuum.retentionWindowIgnore.enabled": "false"}
    if hours < 168:
        vacuum_conf["spark.databricks.delta.retentionDurationCheck.enabled"] = "false"
    with _spark_conf(spark, vacuum_conf):
        listed = spark.sql(f"VACUUM delta.`{path}` RETAIN {hours} HOURS DRY RUN").collect()
        run.report.vacuum = {"retention_hours": hours, "files": len(listed)}
        if listed and not run.dry_run:
            _with_retries(
                f"{run.table}: vacuum",
                lambda: spark.sql(f"VACUUM delta.`{path}` RETAIN {hours} HOURS").collect(),
                run.emit,
                run.report.retried,
            )
    if listed:
        run.emit(
            f"{run.table}: {'would delete' if run.dry_run else 'deleted'} {len(listed)} "
            f"unreferenced files older than {hours} h"
        )


def maintenance_log(settings: Settings) -> Path:
    return settings.home / "maintenance" / "maintain.jsonl"


def run_maintain(
    spark: SparkSession,
    settings: Settings,
    *,
    tables: list[str] | None = None,
    dry_run: bool = False,
    emit: Emit = lambda _m: None,
    target_bytes: int = TARGET_FILE_BYTES,
    today: date | None = None,
) -> dict[str, Any]:
    """Maintain ``tables`` (default: every table of the lake); returns the JSON report, which
    is also appended to ``$OTELLAKE_HOME/maintenance/maintain.jsonl`` (unless a dry run)."""
    present = lake_tables(settings)
    if tables:
        unknown = [t for t in tables if t not in present]
        if unknown:
            raise BadInput(f"no table {unknown} in the lake {settings.lake}; it has {present}")
    started = datetime.now(UTC)
    reports = [
        maintain_table(
            spark,
            settings,
            t,
            dry_run=dry_run,
            emit=emit,
            target_bytes=target_bytes,
            today=today,
        )
        for t in (tables or present)
    ]
    result = {
        "dry_run": dry_run,
        "lake": settings.lake,
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tables": [asdict(r) for r in reports],
    }
    if not dry_run:
        log = maintenance_log(settings)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as f:
            f.write(json.dumps(result, default=str) + "\n")
    return result
