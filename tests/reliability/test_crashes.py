"""Crashes and outages: SIGKILL of the ingest driver, the broker stopped for 20 s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from otellake.settings import Settings
from otellake.stack import kafka_broker, lifecycle
from otellake.stack.processes import stop as stop_service
from tests.conftest import settings_env
from tests.ingest.conftest import (
    BackgroundIngest,
    ingest_now,
    own_topics_settings,
    produce,
    read_table,
)
from tests.maintain.conftest import span_records
from tests.reliability.accounting import once_each, trace_figures
from tests.reliability.conftest import SCALE, report


def _batches(settings: Settings, query: str = "ingest_traces") -> list[dict[str, Any]]:
    path = settings.home / "progress" / f"{query}.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_sigkill_of_the_driver_mid_stream_then_restart(lake_settings: Settings, spark: Any) -> None:
    records, per_record = 100 * SCALE, 1000
    produced = records * per_record
    for _ in range(0, records, 20):
        produce(
            lake_settings, lake_settings.topic_spans, span_records(20, per_record, time.time_ns())
        )
    env = settings_env(
        lake_settings, OTELLAKE_TRIGGER="500ms", OTELLAKE_MAX_OFFSETS_PER_TRIGGER="9"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "otellake.cli", "ingest", "--signal", "traces"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while len(_batches(lake_settings)) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "ingest exited by itself"
            time.sleep(0.2)  # polling the progress file for the first committed batches
        assert len(_batches(lake_settings)) >= 2
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its JVM and Python workers
        proc.wait(timeout=60)
    partial = read_table(spark, lake_settings, "spans").count()
    assert 0 < partial < produced

    ingest_now(spark, lake_settings)  # the restart, from the same checkpoint
    figures = trace_figures(spark, lake_settings)
    report("sigkill_driver", produced=produced, landed_before_kill=partial, **figures)
    # every span once, in spans and in trace_index (one row per trace: one record, one batch)
    assert figures == once_each(produced, records)


def test_broker_stopped_for_20_s_during_ingest(
    private_stack: Settings, spark: Any, tmp_path: Path
) -> None:
    # uuid topics, not the Collector's
    settings = own_topics_settings(private_stack, tmp_path).model_copy(
        update={"max_offsets_per_trigger": 5}
    )
    per_record = 200
    produce(settings, settings.topic_spans, span_records(20, per_record, time.time_ns()))
    ingest = BackgroundIngest(spark, settings, trigger="1s")
    stop, errors, lines, thread = ingest.stop, ingest.errors, ingest.lines, ingest.thread
    try:
        deadline = time.monotonic() + 240
        while not _batches(settings) and time.monotonic() < deadline and not errors:
            time.sleep(0.2)  # polling for the first committed batch
        assert _batches(settings), (errors, lines)
        # (the stack's own settings: its pid files live under its home)
        pid = stop_service(
            kafka_broker.files(private_stack), str(kafka_broker.properties_file(private_stack))
        )
        assert pid is not None
        outage_start = time.monotonic()
        time.sleep(20)  # the outage itself
        lifecycle.up(private_stack, progress=lambda _m: None)
        outage_s = time.monotonic() - outage_start
        produce(settings, settings.topic_spans, span_records(20, per_record, time.time_ns()))
        produced = 40 * per_record
        landed = 0
        deadline = time.monotonic() + 300
        while landed < produced and time.monotonic() < deadline and not errors:
            time.sleep(1)  # polling the lake until the stream has caught up
            landed = sum(b["rows"] for b in _batches(settings))
    finally:
        stop.set()
        thread.join(timeout=300)
    assert not errors, (errors, lines)
    figures = trace_figures(spark, settings)
    restarts = sum("restarting in" in line for line in lines)
    report(
        "broker_stopped",
        outage_s=round(outage_s, 1),
        query_restarts=restarts,
        produced=produced,
        **figures,
    )
    assert figures == once_each(produced, 40)
    # no batch failed or was replayed: each record in exactly one batch
    assert sum(b["records"] for b in _batches(settings)) == 40
