"""The real broker: records round-trip; Spark's Kafka source reads them."""

import time
import uuid
from typing import Any

from kafka import TopicPartition

from otellake import kafka_clients
from otellake.settings import Settings


def _produce(stack: Settings, topic: str, values: list[bytes]) -> None:
    producer = kafka_clients.producer(stack, acks="all")
    try:
        for i, value in enumerate(values):
            producer.send(topic, key=str(i).encode(), value=value)
        producer.flush(timeout=30)
    finally:
        producer.close()


def test_record_round_trip(stack: Settings) -> None:
    topic = f"roundtrip_{uuid.uuid4().hex}"
    kafka_clients.ensure_topics(stack, [topic], partitions=1)
    payload = uuid.uuid4().bytes * 100
    _produce(stack, topic, [payload])

    consumer = kafka_clients.consumer(stack, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        received: list[Any] = []
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received.extend(records)
    finally:
        consumer.close()
    assert [(r.key, r.value, r.offset) for r in received] == [(b"0", payload, 0)]


def test_spark_reads_the_topic(stack: Settings, spark: Any) -> None:
    topic = f"spark_{uuid.uuid4().hex}"
    kafka_clients.ensure_topics(stack, [topic], partitions=3)
    values = [f"value-{i}".encode() for i in range(50)]
    _produce(stack, topic, values)
    df = (
        spark.read.format("kafka")
        .options(**kafka_clients.spark_options(stack))
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
    )
    rows = df.selectExpr("CAST(value AS STRING) AS v", "partition").collect()
    assert sorted(r.v for r in rows) == sorted(v.decode() for v in values)
    assert {r.partition for r in rows} <= {0, 1, 2}
