"""The streaming side: through the real Collector, stop and restart, spark-submit."""

from __future__ import annotations

import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from otellake.settings import Settings
from otellake.telemetry_probe import send_probe
from tests.conftest import settings_env
from tests.ingest.conftest import BackgroundIngest, ingest_now, produce, read_table
from tests.otlp_builders import request, span, span_id, trace_id

ROOT = Path(__file__).resolve().parents[2]


def _records(n_records: int, spans_per_record: int) -> list[bytes]:
    out = []
    for r in range(n_records):
        tid = trace_id()
        spans = [span(f"op-{r}-{i}", tid, span_id()) for i in range(spans_per_record)]
        out.append(
            request([({"service.name": f"svc-{r % 3}"}, [("s", "1", spans)])]).SerializeToString()
        )
    return out


def test_sdk_spans_through_the_collector_land(stack: Settings, tmp_path: Path, spark: Any) -> None:
    settings = stack.model_copy(update={"home": tmp_path / "home", "lake": str(tmp_path / "lake")})
    probe = send_probe(settings, service_name="lake-probe")
    found: list[Any] = []
    deadline = time.monotonic() + 120
    while not found and time.monotonic() < deadline:  # the Collector exports asynchronously
        ingest_now(spark, settings)
        found = (
            read_table(spark, settings, "spans")
            .where(F.col("trace_id") == probe.trace_id)
            .collect()
        )
    assert len(found) == 1
    row = found[0]
    assert row.span_name == probe.span_name
    assert row.service_name == "lake-probe"
    assert row.span_kind == "SERVER"
    assert row.http_response_status_code == 200  # a dedicated column, not in the map
    assert "http.response.status_code" not in row.span_attributes
    assert row.span_attributes["probe.tag"] == probe.span_name.rsplit("-", 1)[1]
    assert row.resource_attributes["telemetry.sdk.language"] == "python"
    assert len(row.span_id) == 16


def test_stop_midstream_and_restart_loses_and_duplicates_nothing(
    lake_settings: Settings, spark: Any
) -> None:
    settings = lake_settings.model_copy(update={"max_offsets_per_trigger": 4})
    produce(settings, settings.topic_spans, _records(24, 50))
    ingest = BackgroundIngest(spark, settings, trigger="500ms")
    stop, errors, thread = ingest.stop, ingest.errors, ingest.thread
    deadline = time.monotonic() + 180
    spans_path = Path(settings.lake) / "spans" / "_delta_log"
    while time.monotonic() < deadline and not list(spans_path.glob("*.json"))[1:]:
        time.sleep(0.2)  # polling the lake for the first committed batch
    stop.set()
    thread.join(timeout=300)
    assert not thread.is_alive() and not errors, errors
    partial = read_table(spark, settings, "spans").count()
    assert 0 < partial < 24 * 50

    ingest_now(spark, settings)
    spans = read_table(spark, settings, "spans")
    assert spans.count() == 24 * 50
    assert spans.select("trace_id", "span_id").distinct().count() == 24 * 50
    # A second run over the same checkpoint finds nothing new and writes nothing twice.
    ingest_now(spark, settings)
    assert read_table(spark, settings, "spans").count() == 24 * 50


def test_spark_submit_runs_the_job(lake_settings: Settings) -> None:
    produce(lake_settings, lake_settings.topic_spans, _records(5, 20))
    env = settings_env(lake_settings)
    bin_dir = ROOT / ".venv" / "bin"
    env["PATH"] = f"{bin_dir}:{env['PATH']}"  # as after `source .venv/bin/activate`
    conf = subprocess.run(
        [str(bin_dir / "otellake"), "spark-conf"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cmd = [
        "spark-submit",
        "--master",
        "local[2]",
        *shlex.split(conf),
        str(ROOT / "jobs" / "ingest.py"),
        "--signal",
        "traces",
        "--available-now",
    ]
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=600, check=False, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ingest_traces batch 0: 5 records -> 100 rows" in proc.stdout
    import deltalake

    table = deltalake.DeltaTable(f"{lake_settings.lake}/spans").to_pyarrow_table()
    assert table.num_rows == 100
