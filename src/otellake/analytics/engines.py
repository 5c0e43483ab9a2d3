"""Where the SQL runs: embedded DuckDB over delta-rs Arrow datasets, or Spark over Delta."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from otellake import lake, object_store, schemas
from otellake.analytics.dialects import DUCKDB, SPARK, Dialect
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
        self, sql: str, params: dict[str, Any], tables: list[str]
    ) -> list[dict[str, Any]]: ...

    def materialize(self, name: str, sql: str, params: dict[str, Any], tables: list[str]) -> None:
        """Compute ``sql`` once into a temporary relation ``name`` that later queries read
        (a step of a multi-step analysis, e.g. what a recursive CTE joins at every level)."""

    def release(self, name: str) -> None:
        """Drop a relation made by :meth:`materialize`."""


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

    def query(self, sql: str, params: dict[str, Any], tables: list[str]) -> list[dict[str, Any]]:
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

    def query(self, sql: str, params: dict[str, Any], tables: list[str]) -> list[dict[str, Any]]:
        self._register(tables)
        # Aware datetimes bind as the right instant whatever the driver's local time zone.
        rows = self.spark.sql(sql, args=params).collect()
        return [{k: _normalize(v) for k, v in row.asDict().items()} for row in rows]

    def _register(self, tables: list[str]) -> None:
        from delta.tables import DeltaTable
        from pyspark.sql import functions as F

        for table in tables:
            path = lake.table_path(self.settings, table)
            if not DeltaTable.isDeltaTable(self.spark, path):
                raise LakeMissing(f"no table {table!r} at {path}; has `otellake ingest` run?")
            df = self.spark.read.format("delta").load(path)
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
