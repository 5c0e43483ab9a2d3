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
