"""Where the SQL runs: embedded DuckDB over delta-rs Arrow datasets, or Spark over Delta."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from otellake import lake, object_store, schemas
from otellake.analytics import footers
from otellake.analytics.dialects import DUCKDB, SPARK, Dialect
from otellake.analytics.footers import UNKNOWN, Facts
from otellake.errors import BadInput, OtelLakeError
from otellake.settings import Settings
from otellake.spark_session import release_local_checkpoint

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class LakeMissing(OtelLakeError):
    """The lake (or one of its tables) does not exist yet."""


class Engine(Protocol):
    name: str
    dialect: Dialect
    settings: Settings

    def query(
        self,
        sql: str,
        params: dict[str, Any],
        tables: list[str],
        spark_conf: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of ``sql``; ``spark_conf``: Spark SQL settings for this query alone (the Spark
        engine sets them around it, DuckDB has no use for them)."""

    def materialize(self, name: str, sql: str, params: dict[str, Any], tables: list[str]) -> None:
        """Compute ``sql`` once into a temporary relation ``name`` that later queries read
        (a step of a multi-step analysis, e.g. what a recursive CTE joins at every level)."""

    def release(self, name: str) -> None:
        """Drop a relation made by :meth:`materialize`."""

    def snapshot(
        self, table: str, first_day: date, last_day: date, trace_id: str | None = None
    ) -> AbstractContextManager[Facts]:
        """What the footers of ``table``'s files of the days [first_day, last_day] say
        (``footers.py``); the queries inside the block read that very snapshot of the table,
        so the facts hold for what they read. :data:`footers.UNKNOWN` when the files are not
        plain local Parquet files. With ``trace_id``, the queries inside the block read only
        the rows of those days whose files hold that trace (an engine may read just those
        files)."""


def _normalize(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Decimal):
        return float(value)
    return value


class DuckDBEngine:
    """Each table is a delta-rs Arrow dataset registered as a view (filters pushed down)."""

    name = "duckdb"
    dialect = DUCKDB

    def __init__(self, settings: Settings) -> None:
        import duckdb

        self.settings = settings
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        # DuckDB's progress bar writes to stdout, which is the JSON/CSV output of the CLI
        self.con.execute("SET enable_progress_bar = false")
        self._registered: set[str] = set()
        self._local_files: dict[str, list[str]] = {}  # table -> its Parquet files, when read so

    def _register(self, table: str) -> None:
        if table in self._registered:
            return
        from deltalake.exceptions import TableNotFoundError

        path = lake.table_path(self.settings, table)
        try:
            # s3a:// lakes: delta-rs reads s3:// with the same endpoint settings as Spark
            delta = object_store.open_delta_table(self.settings, path)
        except TableNotFoundError:
            raise LakeMissing(
                f"no table {table!r} at {path}; is OTELLAKE_LAKE={self.settings.lake} right, "
                "and has `otellake ingest` run?"
            ) from None
        files = delta.file_uris()
        if files and _plain_local_files(delta, files):
            # DuckDB's own Parquet reader: row-group statistics, multi-threaded, and fast MAP
            # columns (10x the Arrow dataset path on attribute filters). The current snapshot's
            # file list comes from the Delta log; `date` comes from the partition directories.
            relation = self.con.read_parquet(files, hive_partitioning=True, union_by_name=True)
            self._local_files[table] = files
        else:
            # Object storage: DuckDB's httpfs extension would be downloaded at run time, so
            # delta-rs reads the files (same storage options) as an Arrow dataset.
            self.con.register(f"{table}__dataset", delta.to_pyarrow_dataset())
            relation = self.con.table(f"{table}__dataset")
        missing = _missing_columns(table, relation.columns)
        if missing:
            nulls = [f"CAST(NULL AS {_DUCKDB_TYPES[kind]}) AS {name}" for name, kind in missing]
            relation = relation.project(", ".join(["*", *nulls]))
        relation.create_view(table)
        self._registered.add(table)

    def query(
        self,
        sql: str,
        params: dict[str, Any],
        tables: list[str],
        spark_conf: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        for table in tables:
            self._register(table)
        cursor = self.con.execute(self.dialect.placeholders(sql), params)
        names = [d[0] for d in cursor.description]
        return [
            {n: _normalize(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()
        ]

    def materialize(self, name: str, sql: str, params: dict[str, Any], tables: list[str]) -> None:
        for table in tables:
            self._register(table)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS {self.dialect.placeholders(sql)}", params
        )

    def release(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    @contextmanager
    def snapshot(
        self, table: str, first_day: date, last_day: date, trace_id: str | None = None
    ) -> Iterator[Facts]:
        # the view reads the files listed when it was registered: the facts are about them.
        # (A trace's rows: DuckDB decodes the other columns only where trace_id matches.)
        self._register(table)
        files = self._local_files.get(table)
        yield UNKNOWN if files is None else footers.facts(files, first_day, last_day)


# the column types an additive schema change brings (schemas.column_type names)
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "INTEGER",
    "long": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
}


def _missing_columns(table: str, present: list[str]) -> list[tuple[str, str]]:
    """(name, type) of the scalar columns ``schemas/`` gives ``table`` that its data lacks.

    They read as NULL, as rows written before the column existed do: a table that ingest has
    not evolved yet (``lake.evolve_table``) or, for DuckDB's Parquet reader, one whose files all
    predate the column (e.g. the dedicated attribute columns of ``spans``, schema version 2).
    """
    if table not in schemas.table_names():
        return []
    have = set(present)
    wanted = [(c, schemas.column_type(table, c)) for c in schemas.table(table).columns]
    return [(c, kind) for c, kind in wanted if c not in have and kind in _DUCKDB_TYPES]


def _local_path(uri: str) -> str:
    """A local file's path from the URI Spark gives it (``file:/a/b`` or ``file:///a/b``)."""
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


def _plain_local_files(delta: Any, files: list[str]) -> bool:
    """True when the data files alone are the table: local paths, partitioned by directory,
    no deletion vectors or column mapping (those need the Delta reader)."""
    features = set(delta.protocol().reader_features or ())
    mapping = delta.metadata().configuration.get("delta.columnMapping.mode", "none")
    return (
        all(f.startswith("/") for f in files)
        and "deletionVectors" not in features
        and mapping == "none"
        and list(delta.metadata().partition_columns) == ["date"]
    )


class SparkEngine:
    """Each table is a temp view over its Delta path."""

    name = "spark"
    dialect = SPARK

    def __init__(self, spark: SparkSession, settings: Settings) -> None:
        self.spark = spark
        self.settings = settings
        self._held: dict[str, Any] = {}  # materialize(): name -> checkpointed DataFrame
        self._pinned: dict[str, int] = {}  # snapshot(): table -> the Delta version read
        self._narrowed: dict[str, list[str]] = {}  # snapshot(trace_id=): table -> its files

    def query(
        self,
        sql: str,
        params: dict[str, Any],
        tables: list[str],
        spark_conf: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        self._register(tables)
        with self._settings(spark_conf or {}):
            # Aware datetimes bind as the right instant whatever the driver's local time zone.
            rows = self.spark.sql(sql, args=params).collect()
        return [{k: _normalize(v) for k, v in row.asDict().items()} for row in rows]

    @contextmanager
    def _settings(self, conf: dict[str, str]) -> Iterator[None]:
        """Session settings for one query, put back as they were after it."""
        before = {key: self.spark.conf.get(key, None) for key in conf}
        for key, value in conf.items():
            self.spark.conf.set(key, value)
        try:
            yield
        finally:
            for key, old in before.items():
                if old is None:
                    self.spark.conf.unset(key)
                else:
                    self.spark.conf.set(key, old)

    def _register(self, tables: list[str]) -> None:
        from delta.tables import DeltaTable
        from pyspark.sql import functions as F

        for table in tables:
            path = lake.table_path(self.settings, table)
            if not DeltaTable.isDeltaTable(self.spark, path):
                raise LakeMissing(f"no table {table!r} at {path}; has `otellake ingest` run?")
            df = self._load(table, path)
            if table in self._narrowed:
                df = self._files_of(df, path, self._narrowed[table])
            missing = _missing_columns(table, df.columns)
            if missing:  # a table that ingest has not evolved yet: the columns read as NULL
                df = df.withColumns({name: F.lit(None).cast(kind) for name, kind in missing})
            df.createOrReplaceTempView(table)

    def materialize(self, name: str, sql: str, params: dict[str, Any], tables: list[str]) -> None:
        # A checkpoint, not a cache: a view over a cached plan is inlined (and recomputed) by
        # the queries that read it, and its lineage grows with every step.
        self._register(tables)
        held = self.spark.sql(sql, args=params).localCheckpoint(eager=True)
        held.createOrReplaceTempView(name)
        self._held[name] = held

    def _load(self, table: str, path: str) -> Any:
        reader = self.spark.read.format("delta")
        if table in self._pinned:
            reader = reader.option("versionAsOf", self._pinned[table])
        return reader.load(path)

    def _files_of(self, df: Any, path: str, files: list[str]) -> Any:
        """The table as the Parquet files ``files`` of it hold it (plain files: checked by
        :meth:`snapshot`), in the table's schema; ``date`` from the directories."""
        if not files:
            return self.spark.createDataFrame([], df.schema)
        return self.spark.read.schema(df.schema).option("basePath", path).parquet(*files)

    @contextmanager
    def snapshot(
        self, table: str, first_day: date, last_day: date, trace_id: str | None = None
    ) -> Iterator[Facts]:
        """Facts from the footers of the version delta-rs sees now, which the queries inside
        the block read (``versionAsOf``): a commit landing meanwhile cannot bring a file the
        facts did not look at.

        With ``trace_id``, a first query reads the days' ``trace_id`` column alone to find the
        files holding the trace, and the block's queries read those files only. Spark's Parquet
        reader decodes every column it is asked for in every row before it filters (DuckDB
        decodes the others only where the filter holds), so on the 10M-span lake the spans of
        one trace cost a decode of ~12 columns of 10M rows; this way, of trace_id in 10M rows
        and the rest in the one file that holds the trace.
        """
        from deltalake.exceptions import TableNotFoundError
        from pyspark.sql import functions as F

        path = lake.table_path(self.settings, table)
        # nested: the outer block's snapshot; object storage: footers are not read there
        if table in self._pinned or object_store.is_s3(path):
            yield UNKNOWN
            return
        try:
            delta = object_store.open_delta_table(self.settings, path)
        except TableNotFoundError:
            raise LakeMissing(f"no table {table!r} at {path}; has `otellake ingest` run?") from None
        files = delta.file_uris()
        if not files or not _plain_local_files(delta, files):
            yield UNKNOWN
            return
        self._pinned[table] = delta.version()
        try:
            if trace_id is not None:
                rows = (
                    self._load(table, path)
                    .where(
                        (F.col("date") >= F.lit(first_day))
                        & (F.col("date") <= F.lit(last_day))
                        & (F.col("trace_id") == F.lit(trace_id))
                    )
                    .select(F.col("_metadata.file_path").alias("file"))
                    .distinct()
                    .collect()
                )
                files = [_local_path(r.file) for r in rows]
                self._narrowed[table] = files
            yield footers.facts(files, first_day, last_day)
        finally:
            del self._pinned[table]
            self._narrowed.pop(table, None)

    def release(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        held = self._held.pop(name, None)
        if held is not None:  # a checkpoint's blocks belong to its RDD, not to a cache entry
            release_local_checkpoint(held)


def make_engine(name: str, settings: Settings, spark: SparkSession | None = None) -> Engine:
    if name == "duckdb":
        return DuckDBEngine(settings)
    if name == "spark":
        if spark is None:
            from otellake.spark_session import build_spark_session

            spark = build_spark_session(settings, app_name="otellake-analyze")
        object_store.check_lake_reachable(spark, settings)
        return SparkEngine(spark, settings)
    raise BadInput(f"unknown engine {name!r}; expected 'duckdb' or 'spark'")
