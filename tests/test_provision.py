"""What `make setup` installed: connector jars without pyspark duplicates, broker jars."""

from otellake import provision
from otellake.settings import Settings


def test_spark_connector_jars_have_no_pyspark_duplicates() -> None:
    jars = [j.name for j in provision.spark_jars(Settings())]
    names = {provision._artifact_name(j) for j in jars}
    assert {
        "spark-sql-kafka-0-10_2.13",
        "delta-spark_4.2_2.13",
        "delta-storage",
        "kafka-clients",
    } <= names
    shipped = {provision._artifact_name(j.name) for j in provision.pyspark_jars_dir().glob("*.jar")}
    assert not names & shipped
    assert not [n for n in names if n.startswith(("jackson-", "scala-", "hadoop-client"))]


def test_kafka_broker_jars() -> None:
    folder = provision.kafka_jars(Settings())
    names = {provision._artifact_name(j.name) for j in (folder / "lib").glob("*.jar")}
    assert {"kafka_2.13", "kafka-clients", "log4j-core", "log4j-slf4j2-impl"} <= names
    # the SLF4J 2 API that log4j-slf4j2-impl binds to (with 1.7.x the broker logs nothing)
    assert [j.name.startswith("slf4j-api-2.") for j in (folder / "lib").glob("slf4j-api-*")] == [
        True
    ]
    assert (folder / "log4j2.properties").is_file()


def test_artifact_name() -> None:
    assert provision._artifact_name("kafka-clients-3.9.2.jar") == "kafka-clients"
    assert provision._artifact_name("delta-spark_4.2_2.13-4.4.0.jar") == "delta-spark_4.2_2.13"
    assert provision._artifact_name("zstd-jni-1.5.7-3.jar") == "zstd-jni"
    assert provision._artifact_name("spark-sql-kafka-0-10_2.13-4.2.0.jar") == (
        "spark-sql-kafka-0-10_2.13"
    )
    assert provision._artifact_name("orc-core-2.3.0-shaded-protobuf.jar") == "orc-core"
