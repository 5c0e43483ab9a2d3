"""Ingest test helpers: a private lake and topic per test on the shared broker."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from otellake import kafka_clients, lake
from otellake.ingest import IngestOptions, run_ingest
from otellake.settings import Settings


class BackgroundIngest:
    """`ingest` of the traces running in a thread until ``stop`` is set; its exception and
    progress lines are kept for the test's assertions."""

    def __init__(self, spark: Any, settings: Settings, trigger: str) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.lines: list[str] = []
        options = IngestOptions(signals=("traces",), trigger=trigger)
        self.thread = threading.Thread(target=self._run, args=(spark, settings, options))
        self.thread.start()

    def _run(self, spark: Any, settings: Settings, options: IngestOptions) -> None:
        try:
            run_ingest(spark, settings, options, self.lines.append, self.stop)
        except BaseException as exc:  # noqa: BLE001 - reported by the test's assertions
            self.errors.append(exc)


def own_topics_settings(stack: Settings, folder: Path) -> Settings:
    """The shared stack's broker, with uuid topics (created) and a home and lake in
    ``folder``."""
    tag = uuid.uuid4().hex[:10]
    settings = stack.model_copy(
        update={
            "home": folder / "home",
            "lake": str(folder / "lake"),
            "topic_spans": f"spans_{tag}",
            "topic_logs": f"logs_{tag}",
            "topic_metrics": f"metrics_{tag}",
        }
    )
    kafka_clients.ensure_topics(settings, list(settings.topics.values()), partitions=3)
    return settings


@pytest.fixture
def lake_settings(stack: Settings, tmp_path: Path) -> Settings:
    """The shared stack's broker, with this test's own topics, home and lake."""
    return own_topics_settings(stack, tmp_path)


def set_topic_config(settings: Settings, topic: str, **configs: str) -> None:
    """Topic-level broker settings (``max.message.bytes``, ...), names with ``_`` for ``.``."""
    from kafka.admin import ConfigResource, ConfigResourceType

    values = {name.replace("_", "."): value for name, value in configs.items()}
    admin = kafka_clients.admin(settings)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=values)])
    finally:
        admin.close()


def produce(settings: Settings, topic: str, values: list[bytes], key: bytes | None = None) -> None:
    producer = kafka_clients.producer(
        settings,
        acks="all",
        max_request_size=16 << 20,
        compression_type="zstd",
    )
    try:
        for value in values:
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=60)
    finally:
        producer.close()


def ingest_now(spark: Any, settings: Settings, **options: Any) -> list[str]:
    """Run `ingest --available-now` in-process; returns the progress lines it printed."""
    lines: list[str] = []
    options.setdefault("signals", ("traces",))
    run_ingest(spark, settings, IngestOptions(available_now=True, **options), lines.append)
    return lines


def read_table(spark: Any, settings: Settings, table: str) -> Any:
    return spark.read.format("delta").load(lake.table_path(settings, table))
