"""Delta tables of the lake: paths, creation from ``schemas/``, exactly-once appends."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from otellake import schemas
from otellake.errors import OtelLakeError
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TABLE_PROPERTIES = {
    # delta-rs (the DuckDB engine's reader) must be able to read every table.
    "delta.enableDeletionVectors": "false",
    # A checkpoint is written inside the commit that reaches the interval: 2-4 s for the two
    # trace tables at 2k spans/s (a normal append: 0.5 s), so with one commit per table per
    # batch, 20 made every 20th batch slow (5% of spans, right at freshness p95). Readers
    # replay the JSON commits since the last checkpoint: ~0.15 ms each for delta-rs.
    "delta.checkpointInterval": "100",
}


def table_path(settings: Settings, table: str) -> str:
    return f"{settings.lake.rstrip('/')}/{table}"


def checkpoint_path(settings: Settings, query_name: str) -> str:
    return f"{settings.lake.rstrip('/')}/_checkpoints/{query_name}"


def path_exists(spark: SparkSession, path: str) -> bool:
    """Whether a file or directory exists, on any file system Spark can reach."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(hadoop_path))


def committed_offsets(spark: SparkSession, checkpoint: str) -> str | None:
    """The Kafka offsets (Spark's JSON) up to which the streaming query of ``checkpoint`` has
    committed its batches; None when it committed none."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    commits = jvm.org.apache.hadoop.fs.Path(f"{checkpoint}/commits")
    fs = commits.getFileSystem(conf)
    if not fs.exists(commits):
        return None
    names = [str(st.getPath().getName()) for st in fs.listStatus(commits)]
    batches = [int(name) for name in names if name.isdigit()]
    if not batches:
        return None
    offsets = jvm.org.apache.hadoop.fs.Path(f"{checkpoint}/offsets/{max(batches)}")
    stream = fs.open(offsets)
    try:
        text = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1] if len(lines) >= 3 else None


class SchemaMismatch(OtelLakeError):
    """An existing table differs from ``schemas/`` in a way that is not additive."""


SCHEMA_VERSION_PROPERTY = "otellake.schema.version"


def ensure_table(spark: SparkSession, settings: Settings, table: str) -> str:
    """Create the Delta table from its schema file, or evolve it in place; returns its path.

    Evolution is additive only: columns that ``schemas/`` has and the table lacks are added
    at their place (older rows read them as NULL). A removed or retyped column is refused,
    never applied: the lake keeps its data.
    """
    from delta.tables import DeltaTable

    spec = schemas.table(table)
    path = table_path(settings, table)
    if DeltaTable.isDeltaTable(spark, path):
        evolve_table(spark, path, spec)
        return path
    builder = (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .addColumns(spec.spark_schema())
        .partitionedBy(*spec.partition_by)
    )
    properties = {
        **TABLE_PROPERTIES,
        "delta.dataSkippingStatsColumns": ",".join(spec.stats_columns),
        SCHEMA_VERSION_PROPERTY: str(schemas.contract_version()),
    }
    for key, value in properties.items():
        builder = builder.property(key, value)
    builder.execute()
    return path


def table_properties(spark: SparkSession, path: str) -> dict[str, str]:
    """The Delta table's properties, read from its log's metadata. (``DeltaTable.detail()``
    also has them, but computes the table's size and file count in a Spark job first: at an
    ingest start in a new JVM, 6.6 s for the three traces tables against 1.7 s.)"""
    rows = spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()
    return {row.key: row.value for row in rows}


def evolve_table(spark: SparkSession, path: str, spec: schemas.TableSpec) -> list[str]:
    """Add the columns ``spec`` has and the table at ``path`` lacks; returns their names.

    Runs at every ingest start, so an up-to-date table costs reads only, no commit.
    """
    properties = table_properties(spark, path)
    recorded = properties.get(SCHEMA_VERSION_PROPERTY)
    current = {f.name: f for f in spark.read.format("delta").load(path).schema.fields}
    wanted = spec.spark_schema()
    removed = [name for name in current if name not in wanted.fieldNames()]
    retyped = [
        f"{f.name} ({current[f.name].dataType.simpleString()} -> {f.dataType.simpleString()})"
        for f in wanted.fields
        if f.name in current and current[f.name].dataType != f.dataType
    ]
    if removed or retyped:
        raise SchemaMismatch(
            f"table {path} does not match schemas/tables/{spec.name}.json: "
            f"columns missing from the schema file {removed}, retyped {retyped}; only added "
            "columns evolve in place (a removal or type change needs a migration)"
        )
    added: list[str] = []
    previous: str | None = None
    for field in wanted.fields:
        if field.name not in current:
            position = f"AFTER `{previous}`" if previous else "FIRST"
            spark.sql(
                f"ALTER TABLE delta.`{path}` ADD COLUMNS "
                f"(`{field.name}` {field.dataType.simpleString()} {position})"
            )
            added.append(field.name)
        previous = field.name
    version = str(schemas.contract_version())
    # the table properties of this version (e.g. a new checkpoint interval) apply to existing
    # tables too
    stale = {k: v for k, v in TABLE_PROPERTIES.items() if properties.get(k) != v}
    if added or recorded != version or stale:
        settings_sql = ", ".join(
            f"'{k}' = '{v}'" for k, v in {**stale, SCHEMA_VERSION_PROPERTY: version}.items()
        )
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({settings_sql})")
    return added


def _key_exprs(table: str, alias: str) -> list[str]:
    """The table's dedup key (its schema file's ``dedup_key``, on which backfill and replay
    merge) as SQL over ``alias``: plain names are columns; the rest are expressions over
    ``{a}`` (MAP columns cannot be compared, their JSON hash can)."""
    return [k.format(a=alias) if "{a}" in k else f"{alias}.`{k}`" for k in schemas.dedup_key(table)]


def _merge_condition(table: str, prune_from: date | None) -> str:
    cond = " AND ".join(
        f"{t} = {s}" for t, s in zip(_key_exprs(table, "t"), _key_exprs(table, "s"), strict=True)
    )
    if prune_from is not None:  # only the partitions a duplicate can be in
        cond += f" AND t.`date` >= DATE'{prune_from.isoformat()}'"
    return cond


def distinct_by_key(rows: DataFrame, table: str) -> DataFrame:
    """``rows`` without repeats of the table's dedup key (the first of each is kept)."""
    from pyspark.sql import functions as F

    keyed = rows.alias("s").withColumn(
        "__key", F.struct(*[F.expr(e).alias(f"k{i}") for i, e in enumerate(_key_exprs(table, "s"))])
    )
    return keyed.dropDuplicates(["__key"]).drop("__key")


def rows_not_in_table(
    spark: SparkSession, rows: DataFrame, path: str, table: str, prune_from: date | None
) -> DataFrame:
    """The rows whose dedup key the table at ``path`` does not hold yet."""
    from pyspark.sql import functions as F

    target = spark.read.format("delta").load(path).alias("t")
    return (
        distinct_by_key(rows, table)
        .alias("s")
        .join(target, F.expr(_merge_condition(table, prune_from)), "left_anti")
    )


def merge_insert_only(
    spark: SparkSession, rows: DataFrame, path: str, table: str, prune_from: date | None
) -> int:
    """Insert the rows whose dedup key the table does not hold (an insert-only MERGE);
    returns how many were inserted. Running it twice inserts nothing the second time, so
    backfill and replay need no streaming dedup state to be exactly once."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    columns = schemas.table(table).columns
    source = distinct_by_key(rows, table)
    for attempt in range(1, 6):
        target = DeltaTable.forPath(spark, path)
        before = target.history(1).select("version").first()
        try:
            target.alias("t").merge(
                source.alias("s"), _merge_condition(table, prune_from)
            ).whenNotMatchedInsert(values={c: f"s.`{c}`" for c in columns}).execute()
            break
        except commit_conflicts():
            if attempt == 5:
                raise
    # Our commit, if any (a merge that inserts nothing commits nothing).
    ours = (
        DeltaTable.forPath(spark, path)
        .history(20)
        .where((F.col("version") > (before[0] if before else -1)) & (F.col("operation") == "MERGE"))
        .orderBy("version")
        .select("operationMetrics")
        .first()
    )
    return int(((ours and ours[0]) or {}).get("numTargetRowsInserted", 0))


def commit_conflicts() -> tuple[type[Exception], ...]:
    """Delta's commit-conflict exceptions (a concurrent commit changed what a command read)."""
    from delta import exceptions as e

    return (
        e.DeltaConcurrentModificationException,
        e.ConcurrentWriteException,
        e.MetadataChangedException,
        e.ProtocolChangedException,
        e.ConcurrentAppendException,
        e.ConcurrentDeleteReadException,
        e.ConcurrentDeleteDeleteException,
        e.ConcurrentTransactionException,
    )
