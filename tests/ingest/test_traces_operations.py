"""Operating the ingest: `otellake ingest` under SIGTERM, and data lost to Kafka retention."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from kafka import TopicPartition

from otellake import kafka_clients
from otellake.ingest import DataLossError
from otellake.settings import Settings
from tests.conftest import settings_env
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.ingest.test_traces_stream import _records


def _env(settings: Settings) -> dict[str, str]:
    return settings_env(settings, OTELLAKE_TRIGGER="1s")


def test_cli_ingest_streams_until_sigterm(lake_settings: Settings, spark: Any) -> None:
    sent_at = time.time()
    produce(lake_settings, lake_settings.topic_spans, _records(6, 10))
    proc = subprocess.Popen(
        [sys.executable, "-m", "otellake.cli", "ingest", "--signal", "traces"],
        env=_env(lake_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    progress = lake_settings.home / "progress" / "ingest_traces.jsonl"
    try:
        deadline = time.monotonic() + 180
        rows = 0
        while rows < 60 and time.monotonic() < deadline and proc.poll() is None:
            if progress.exists():
                rows = sum(json.loads(x)["rows"] for x in progress.read_text().splitlines())
            time.sleep(0.5)  # polling the progress file the running job appends to
        assert rows == 60, f"job printed: {proc.stdout.read() if proc.poll() is not None else ''}"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out[-3000:]
    assert "stopping after the batch in flight" in out
    assert "ingest stopped" in out
    assert read_table(spark, lake_settings, "spans").count() == 60

    status = subprocess.run(
        [sys.executable, "-m", "otellake.cli", "status", "--format", "json"],
        env=_env(lake_settings),
        capture_output=True,
        text=True,
        check=True,
    )
    queries = json.loads(status.stdout)["queries"]
    assert [q["query"] for q in queries] == ["ingest_traces"]
    assert queries[0]["kafka_lag"] == 0  # the batch took every record there was
    # behind: the oldest record's age when its batch landed, at most the time since sending
    assert 0 < queries[0]["behind_s"] <= time.time() - sent_at + 1, queries[0]


def test_offsets_lost_to_retention_fail_loudly(lake_settings: Settings, spark: Any) -> None:
    topic = lake_settings.topic_spans
    produce(lake_settings, topic, _records(3, 5))
    ingest_now(spark, lake_settings)  # the checkpoint now expects the offsets after these
    produce(lake_settings, topic, _records(9, 5))
    admin = kafka_clients.admin(lake_settings)
    try:
        ends = kafka_clients.consumer(lake_settings).end_offsets(
            [TopicPartition(topic, p) for p in range(3)]
        )
        admin.delete_records(dict(ends))  # as if retention removed everything unread
    finally:
        admin.close()
    with pytest.raises(DataLossError, match="--accept-data-loss"):
        ingest_now(spark, lake_settings)
    assert read_table(spark, lake_settings, "spans").count() == 15

    produce(lake_settings, topic, _records(2, 5))
    ingest_now(spark, lake_settings, accept_data_loss=True)
    assert read_table(spark, lake_settings, "spans").count() == 25
