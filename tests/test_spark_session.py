"""The one SparkSession builder: UTC, Delta, the Kafka source on the classpath."""

from pathlib import Path
from typing import Any


def test_session_is_utc_with_delta(spark: Any, tmp_path: Path) -> None:
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    table = str(tmp_path / "t")
    spark.createDataFrame([(1, "a"), (2, "b")], "id INT, v STRING").write.format("delta").save(
        table
    )
    rows = spark.read.format("delta").load(table).orderBy("id").collect()
    assert [(r.id, r.v) for r in rows] == [(1, "a"), (2, "b")]
    history = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()
    assert history[0].operation == "WRITE"


def test_kafka_source_is_loadable(spark: Any) -> None:
    jvm = spark.sparkContext._jvm
    cls = jvm.java.lang.Class.forName(
        "org.apache.spark.sql.kafka010.KafkaSourceProvider",
        True,
        jvm.java.lang.Thread.currentThread().getContextClassLoader(),
    )
    assert cls.getName().endswith("KafkaSourceProvider")


def test_local_files_are_written_without_forking_chmod_or_readlink(
    spark: Any, tmp_path: Path
) -> None:
    """A local session uses the decoder jar's fork-free local file system, through both of
    Hadoop's APIs, and it sets modes and reads links as Hadoop's own does."""
    import os
    import stat

    jvm = spark.sparkContext._jvm
    conf = spark._jsc.hadoopConfiguration()
    uri = jvm.java.net.URI("file:///")
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(uri, conf)
    assert fs.getClass().getName() == "dev.otellake.fs.ForkFreeLocalFileSystem"
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(uri, conf)
    assert context.getDefaultFileSystem().getClass().getName() == "dev.otellake.fs.ForkFreeLocalFs"

    mode = jvm.org.apache.hadoop.fs.permission.FsPermission
    nested = tmp_path / "a" / "b"
    assert fs.mkdirs(jvm.org.apache.hadoop.fs.Path(str(nested)), mode("750"))
    assert stat.S_IMODE(os.stat(nested).st_mode) == 0o750
    data = nested / "f"
    data.write_text("12345")
    fs.setPermission(jvm.org.apache.hadoop.fs.Path(str(data)), mode("604"))
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o604
    missing = jvm.org.apache.hadoop.fs.Path(str(tmp_path / "missing"))
    try:
        fs.setPermission(missing, mode("644"))
        raise AssertionError("setPermission of a missing file did not fail")
    except Exception as e:  # noqa: BLE001 (py4j wraps the JVM's exception)
        assert "FileNotFoundException" in str(e)

    link = tmp_path / "link"
    link.symlink_to(data)
    raw = fs.getRawFileSystem()
    linked = raw.getFileLinkStatus(jvm.org.apache.hadoop.fs.Path(str(link)))
    assert linked.isSymlink() and linked.getSymlink().toUri().getPath() == str(data)
    plain = raw.getFileLinkStatus(jvm.org.apache.hadoop.fs.Path(str(data)))
    assert not plain.isSymlink() and plain.getLen() == 5

    # a rename through FileContext (the streaming checkpoint's way) still works
    target = jvm.org.apache.hadoop.fs.Path(str(tmp_path / "renamed"))
    no_options = spark.sparkContext._gateway.new_array(
        getattr(jvm.org.apache.hadoop.fs, "Options$Rename"), 0
    )
    context.rename(jvm.org.apache.hadoop.fs.Path(str(data)), target, no_options)
    assert (tmp_path / "renamed").read_text() == "12345" and not data.exists()


def test_plain_columns_are_written_without_a_dictionary(spark: Any, tmp_path: Path) -> None:
    """The schema files' ``plain_columns`` reach Parquet's writer through the session: a
    span id gets no dictionary even where one would fit, a service name still does."""
    import pyarrow.parquet as pq

    table = str(tmp_path / "t")
    rows = [(f"{i:016x}", f"svc-{i % 3}") for i in range(1000)]
    df = spark.createDataFrame(rows, "span_id STRING, service_name STRING").coalesce(1)
    df.write.format("delta").save(table)
    (file,) = Path(table).glob("*.parquet")
    chunks = pq.ParquetFile(file).metadata.row_group(0)
    encodings = {
        chunks.column(i).path_in_schema: chunks.column(i).encodings
        for i in range(chunks.num_columns)
    }
    assert not any("DICTIONARY" in e for e in encodings["span_id"]), encodings
    assert any("DICTIONARY" in e for e in encodings["service_name"]), encodings


def test_trace_ids_get_a_bloom_filter_sized_to_them_unless_a_dictionary_holds_them(
    spark: Any, tmp_path: Path
) -> None:
    """The schema files' ``bloom_columns`` reach Parquet's writer: a file whose trace ids
    are not dictionary-encoded has a filter, sized to its distinct ids (not the 1 MiB
    maximum), that rules out an absent id and keeps a present one; a file whose dictionary
    holds them (10 spans per trace, few traces) has none."""
    import duckdb

    def write(traces: int, spans_per_trace: int, name: str) -> Path:
        ids = [(f"{i:032x}",) for i in range(traces) for _ in range(spans_per_trace)]
        out = tmp_path / name
        spark.createDataFrame(ids, "trace_id STRING").coalesce(1).write.parquet(str(out))
        (file,) = out.glob("*.parquet")
        return file

    con = duckdb.connect()

    def bloom_bytes(file: Path) -> int | None:
        sql = "SELECT bloom_filter_length FROM parquet_metadata(?) WHERE path_in_schema = ?"
        ((length,),) = con.execute(sql, [str(file), "trace_id"]).fetchall()
        return length

    def excluded(file: Path, value: str) -> bool:
        sql = "SELECT bloom_filter_excludes FROM parquet_bloom_probe(?, 'trace_id', ?)"
        ((answer,),) = con.execute(sql, [str(file), value]).fetchall()
        return bool(answer)

    many, unique, repeated = (
        write(60_000, 1, "many"),
        write(1_000, 1, "unique"),
        write(1_000, 10, "repeated"),
    )

    def filter_bytes(file: Path) -> int:
        length = bloom_bytes(file)
        assert length is not None, file.parent.name
        return length - length % 1024  # the bitset; a header of a few bytes follows

    # ~10 bits per distinct id at 1% false positives, rounded up to a power of two
    assert (filter_bytes(many), filter_bytes(unique)) == (128 * 1024, 2 * 1024)
    assert not excluded(many, f"{12_345:032x}") and excluded(many, "f" * 32)
    assert not excluded(unique, f"{999:032x}") and excluded(unique, "f" * 32)
    assert bloom_bytes(repeated) is None


def test_a_local_session_keeps_batches_off_the_heap(spark: Any) -> None:
    """Local sessions get off-heap memory, and ingest caches its batches there; a cluster's
    executors keep Spark's defaults (memory and disk)."""
    from pyspark import StorageLevel

    from otellake.settings import Settings
    from otellake.spark_session import batch_storage_level, session_conf

    assert spark.conf.get("spark.memory.offHeap.enabled") == "true"
    assert batch_storage_level(spark) == StorageLevel.OFF_HEAP
    cluster = session_conf(Settings(), master="spark://cluster:7077")  # type: ignore[call-arg]
    assert "spark.memory.offHeap.enabled" not in cluster


def test_a_local_driver_runs_the_throughput_collector(spark: Any) -> None:
    """The session this module launches (local master) runs Parallel GC, not G1."""
    jvm = spark.sparkContext._jvm
    beans = jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    names = {beans.get(i).getName() for i in range(beans.size())}
    assert names == {"PS Scavenge", "PS MarkSweep"}


def test_spark_conf_values_survive_word_splitting(tmp_path: Path) -> None:
    """`spark-submit $(otellake spark-conf)` splits the output on spaces: no value has one,
    so the collector option is added only where the module launches the JVM itself."""
    from otellake.settings import Settings
    from otellake.spark_session import LOCAL_DRIVER_GC, _launch_conf, session_conf

    conf = session_conf(Settings(home=tmp_path), "local[2]")
    assert not [k for k, v in conf.items() if " " in v]
    launched = _launch_conf(conf)["spark.driver.extraJavaOptions"]
    assert launched.split() == ["-Duser.timezone=UTC", LOCAL_DRIVER_GC]
    cluster = session_conf(Settings(home=tmp_path), "spark://127.0.0.1:7077")
    assert _launch_conf(cluster) == cluster


def test_a_released_local_checkpoint_leaves_no_blocks(spark: Any) -> None:
    import time

    from pyspark import StorageLevel

    from otellake.spark_session import release_local_checkpoint

    kept = spark.range(10_000).localCheckpoint(eager=True, storageLevel=StorageLevel.OFF_HEAP)
    rdd_id = kept._jdf.queryExecution().analyzed().rdd().id()

    def stored() -> set[int]:
        infos = spark.sparkContext._jsc.sc().getRDDStorageInfo()
        return {info.id() for info in infos}

    assert rdd_id in stored()
    release_local_checkpoint(kept)
    deadline = time.monotonic() + 10
    while rdd_id in stored() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rdd_id not in stored()
