"""The one place a SparkSession is built: connector jars, Delta, UTC."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otellake import object_store, provision, schemas
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark import StorageLevel
    from pyspark.sql import DataFrame, SparkSession

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # delta-rs / pyarrow readers (the DuckDB engine) must be able to read every table.
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
}


# Hadoop's local file system runs `chmod` for each file it creates and `readlink` for each
# rename when its native library is missing (pip's Spark has none): ~126 forks of the driver's
# JVM per traces batch. Ours (in the decoder jar) does both with the JDK: a 2.25M-span backlog
# 71.6 s -> 67.2 s (warm JVM), ~0.2 s less per batch. Local masters only: one JVM, whose
# class path holds the decoder jar (not under spark-submit, whose class path is fixed);
# executors elsewhere keep Hadoop's.
FORK_FREE_LOCAL_FILES = {
    "spark.hadoop.fs.file.impl": "dev.otellake.fs.ForkFreeLocalFileSystem",
    "spark.hadoop.fs.AbstractFileSystem.file.impl": "dev.otellake.fs.ForkFreeLocalFs",
}


# Parquet tries a dictionary for every column, hashing each value, and falls back to plain
# encoding when the dictionary outgrows its page: span ids and times do in every file. Those
# columns skip the attempt (1M spans, sorted and written: 7-8% less CPU, files no larger).
PLAIN_ENCODING = {
    f"spark.hadoop.parquet.enable.dictionary#{path}": "false"
    for path in schemas.plain_encoded_columns()
}


# A bloom filter per row group on the paths a lookup asks for one value of (trace ids), so
# a trace lookup or a search's second query skips the row groups whose min/max span every id
# (10M-span lake, DuckDB: a trace 0.084 -> 0.020 s, 20 traces 0.169 -> 0.070 s). Parquet
# writes one only for a chunk not wholly dictionary-encoded (a reader can test a dictionary
# itself). Adaptive: 10 sizes from 1 MiB down to 2 KiB, the smallest that holds the chunk's
# distinct values at 1% false positives is kept (~10 bits per value; 5 sizes by default,
# the smallest 64 KiB, more than a small batch's whole file).
BLOOM_FILTERS = {
    "spark.hadoop.parquet.bloom.filter.adaptive.enabled": "true",  # read for all columns
} | {
    f"spark.hadoop.parquet.bloom.filter.{setting}#{path}": value
    for path in schemas.bloom_filtered_columns()
    for setting, value in (
        ("enabled", "true"),
        ("fpp", "0.01"),
        ("candidates.number", "10"),
    )
}


# What Spark's status store keeps of finished work (for its UI and REST API). The defaults
# suit a batch job; ingest runs thousands of small jobs a day, and the store kept growing up
# to them (a streaming driver's live heap after a full GC: 50 -> 670 MiB in 6 minutes).
STATUS_RETENTION = {
    "spark.sql.ui.retainedExecutions": "50",
    "spark.ui.retainedJobs": "100",
    "spark.ui.retainedStages": "100",
    "spark.ui.retainedTasks": "10000",
}


def on_one_machine(master: str) -> bool:
    """``local[...]`` or a standalone master on loopback (`otellake cluster up`): the driver
    must be reachable on 127.0.0.1 only, and a couple of cores want few partitions."""
    host = master.removeprefix("spark://").rpartition(":")[0]
    return master.startswith("local") or host in ("127.0.0.1", "localhost")


def session_conf(settings: Settings, master: str | None = None) -> dict[str, str]:
    """Every Spark setting otel-lake relies on (also what `otellake spark-conf` prints)."""
    master = master or settings.spark_master
    jars = provision.spark_jars(settings)
    conf = {
        "spark.master": master,
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.ui.showConsoleProgress": "false",
        # Delta's SQL parser drops the parameters of `spark.sql(text, args=...)` on Spark 4.1+
        # (delta-io/delta#7640: UNBOUND_SQL_PARAMETER); Spark's legacy substitution still
        # binds them as literals, so analytics keep user values out of the SQL text.
        "spark.sql.legacy.parameterSubstitution.constantsOnly": "true",
        # zstd: 45 bytes per span on disk instead of snappy's 77, at the same write speed.
        "spark.sql.parquet.compression.codec": "zstd",
        # Standard INT64 micros (UTC-adjusted) instead of legacy INT96, so every Parquet reader
        # (DuckDB's, delta-rs) sees TIMESTAMP WITH TIME ZONE like the Delta schema says.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # Generated classes are cached by their source; a traces batch needs ~75 (decode, the
        # dedup, Delta's writes and stats) and the default cache holds 100, so every batch
        # compiled them all again (0.9 s of Janino, then the JIT's C2 at 38% of the CPU).
        # 1M spans: steady batches 10.4-11 s -> 8.7 s.
        "spark.sql.codegen.cache.maxEntries": "2000",
        **DELTA_CONF,
        **PLAIN_ENCODING,
        **BLOOM_FILTERS,
        **STATUS_RETENTION,
    }
    if object_store.needs_s3(settings):
        # The lake on S3 (s3a://): endpoint, region, addressing; credentials from the env only.
        if object_store.is_s3(settings.lake):
            provision.require_s3_jars(settings)
        conf |= {f"spark.hadoop.{k}": v for k, v in object_store.hadoop_conf(settings).items()}
    if on_one_machine(master):
        conf |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.memory": "2g",
            # Tungsten's sort and aggregation pages and each batch's cached rows
            # (``batch_storage_level``) outside the heap: a 2.25M-span backlog's live heap
            # after GC 1,200-1,250 -> 933-938 MiB, at the same speed. The process takes this
            # much memory beside the heap.
            "spark.memory.offHeap.enabled": "true",
            "spark.memory.offHeap.size": "1g",
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
            # Delta rebuilds table state (e.g. for txnAppId lookups) with this many shuffle
            # partitions; the default 50 costs ~3 s per exactly-once append on 2 cores.
            "spark.databricks.delta.snapshotPartitions": "2",
            # VACUUM lists the table's directories in this many tasks (default 10000): a
            # VACUUM of a tiny table took 67-106 s on 2 cores, 4-12 s with 8.
            "spark.sql.sources.parallelPartitionDiscovery.parallelism": "8",
        }
    if master.startswith("local"):
        # (Hadoop loads the file system before spark.jars reach a class loader)
        decoder = next(j for j in jars if j.name == "otlp-decoder.jar")
        conf |= FORK_FREE_LOCAL_FILES | {"spark.driver.extraClassPath": str(decoder)}
    return conf


# A local master's one JVM does all the work: the throughput collector instead of G1 (the
# JDK's default), whose write barriers and concurrent marking cost Spark's allocation-heavy
# tasks. 2M spans from Kafka, 2 cores, warm JVM: 30.5-35.7 s against 37.3-43.6 s (JVM CPU
# 53-64 s against 67-79 s); a cold JVM 48.8-53.6 s against 54.0-58.4 s. Only where this
# module launches the JVM: `spark-conf`'s output is split on spaces (`$(otellake
# spark-conf)`), so a job under spark-submit adds `--driver-java-options -XX:+UseParallelGC`.
LOCAL_DRIVER_GC = "-XX:+UseParallelGC"


def _launch_conf(conf: dict[str, str]) -> dict[str, str]:
    """``conf`` for a driver JVM this process launches (not spark-submit)."""
    if not conf["spark.master"].startswith("local"):
        return conf
    options = conf["spark.driver.extraJavaOptions"]
    return conf | {"spark.driver.extraJavaOptions": f"{options} {LOCAL_DRIVER_GC}"}


def build_spark_session(
    settings: Settings,
    app_name: str = "otellake",
    master: str | None = None,
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    import os

    from pyspark.sql import SparkSession

    if object_store.is_s3(settings.lake):  # before the JVM starts: its environment is fixed
        object_store.require_credentials(settings, settings.lake)
    conf = {**session_conf(settings, master), **(extra_conf or {})}
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        # Launched by spark-submit: its --master, --jars/--packages and --conf already apply.
        # (so is its class path: the fork-free file system may not be on it)
        launched = ("spark.master", "spark.jars", "spark.driver.extraClassPath")
        conf = {
            k: v for k, v in conf.items() if k not in launched and k not in FORK_FREE_LOCAL_FILES
        }
    else:
        conf = _launch_conf(conf)
    builder = SparkSession.builder.appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def batch_storage_level(spark: SparkSession) -> StorageLevel:
    """Where ingest keeps a batch it reads more than once: off the heap when the session has
    off-heap memory (local sessions do), else in memory and on disk."""
    from pyspark import StorageLevel

    enabled = spark.conf.get("spark.memory.offHeap.enabled", "false") or "false"
    return StorageLevel.OFF_HEAP if enabled.lower() == "true" else StorageLevel.MEMORY_AND_DISK


def release_local_checkpoint(df: DataFrame) -> None:
    """Free the blocks of a DataFrame made by ``localCheckpoint``. ``unpersist()`` does not:
    they stay until the JVM's cleaner finds the RDD unreachable, and over a 10M-span backlog
    (~40 batches) they ran the 2 GiB driver out of heap.

    Through the context's ``unpersistRDD``, what ``RDD.unpersist`` calls, without its warning
    that a locally checkpointed RDD cannot be recomputed (a WARN line per kept DataFrame, two
    per traces batch: nothing reads it again)."""
    plan = df._jdf.queryExecution().analyzed()
    if plan.getClass().getSimpleName() == "LogicalRDD":
        rdd = plan.rdd()
        rdd.sparkContext().unpersistRDD(rdd.id(), False)
