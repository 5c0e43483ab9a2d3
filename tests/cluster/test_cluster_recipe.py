"""The documented cluster recipe (docs/cluster-and-s3.md), run line for line against a real
standalone cluster on loopback: the same tables and the same analytics answer as local mode on
the same data.

Why it matters: on a cluster the executors are other JVMs in another folder, so anything that
only works because driver and executor share a process (jars on the driver only, a relative
lake path, Python in the data path) fails here and not in the local tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import deltalake

from otellake import kafka_clients
from otellake.analytics import api
from otellake.settings import Settings
from otellake.stack import spark_cluster
from otellake.stack.processes import free_port
from tests.conftest import settings_env
from tests.ingest.conftest import ingest_now

ROOT = Path(__file__).resolve().parents[2]
SPANS = 400


def documented_recipe() -> str:
    """The first bash block of the "Running on a Spark cluster" section of the docs."""
    page = (ROOT / "docs" / "cluster-and-s3.md").read_text()
    section = page.split("\n## Running on a Spark cluster\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert match, "no bash block in the cluster section of docs/cluster-and-s3.md"
    return match.group(1)


def _spans_table(lake: str) -> Any:
    return deltalake.DeltaTable(f"{lake}/spans").to_pyarrow_table(
        columns=["trace_id", "span_id", "service_name", "duration_ns"]
    )


def _trace_index(lake: str) -> dict[str, int]:
    rows = deltalake.DeltaTable(f"{lake}/trace_index").to_pyarrow_table().to_pylist()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["trace_id"]] = counts.get(row["trace_id"], 0) + row["span_count"]
    return counts


def _quarantined(lake: str) -> int:
    path = Path(lake) / "quarantine"
    if not (path / "_delta_log").is_dir():
        return 0
    return int(deltalake.DeltaTable(str(path)).to_pyarrow_table().num_rows)


def test_documented_cluster_recipe_matches_local_mode(
    stack: Settings, tmp_path: Path, spark: Any
) -> None:
    tag = uuid.uuid4().hex[:10]
    cluster = stack.model_copy(
        update={
            "home": tmp_path / "cluster-home",
            "lake": str(tmp_path / "cluster-lake"),  # absolute: executors run elsewhere
            "topic_spans": f"spans_{tag}",
            "topic_logs": f"logs_{tag}",
            "topic_metrics": f"metrics_{tag}",
            "spark_master_port": free_port(),
            "spark_ui_port": free_port(),
        }
    )
    kafka_clients.ensure_topics(cluster, list(cluster.topics.values()), partitions=3)
    start = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    truth_file = tmp_path / "truth.json"
    subprocess.run(
        [str(ROOT / ".venv/bin/otellake"), "generate", "--spans", str(SPANS), "--seed", "10",
         "--start", start, "--truth", str(truth_file)],
        env=settings_env(cluster), check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert json.loads(truth_file.read_text())["tables"]["spans"] == SPANS

    # The documented lines as they stand (cluster up, spark-submit ingest and analytics, down).
    script = "set -euo pipefail\n" + documented_recipe()
    try:
        proc = subprocess.run(
            ["bash", "-c", script], env=settings_env(cluster), cwd=ROOT, capture_output=True,
            text=True, timeout=600, check=False,
        )  # fmt: skip
    finally:
        spark_cluster.down(cluster, progress=lambda _msg: None)  # also after a failed line
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "ingest_traces batch 0: " in output and f"-> {SPANS} rows" in output, output[-4000:]
    # The jobs really ran in executors the worker launched (one application folder each).
    apps = sorted(p.name for p in spark_cluster.work_dir(cluster).glob("app-*"))
    assert len(apps) == 2, apps
    (doc_line,) = [x for x in proc.stdout.splitlines() if x.startswith('{"analysis"')]
    on_cluster = json.loads(doc_line)
    assert on_cluster["analysis"] == "latency" and on_cluster["engine"] == "spark"

    # Local mode on the same topic, its own lake and checkpoint.
    local = cluster.model_copy(
        update={"home": tmp_path / "local-home", "lake": str(tmp_path / "local-lake")}
    )
    ingest_now(spark, local)

    cluster_spans, local_spans = _spans_table(cluster.lake), _spans_table(local.lake)
    assert cluster_spans.num_rows == local_spans.num_rows == SPANS
    ids = {(r["trace_id"], r["span_id"]) for r in cluster_spans.to_pylist()}
    assert len(ids) == SPANS
    assert ids == {(r["trace_id"], r["span_id"]) for r in local_spans.to_pylist()}
    assert _trace_index(cluster.lake) == _trace_index(local.lake)
    assert sum(_trace_index(cluster.lake).values()) == SPANS
    assert _quarantined(cluster.lake) == _quarantined(local.lake) == 0

    # The same answer: the cluster's rows equal local Spark's and DuckDB's on the local lake.
    assert on_cluster["rows"], "the latency analysis found no requests in the window"
    for engine in ("spark", "duckdb"):
        result = api.analyze("latency", engine=engine, settings=local, spark=spark, since="1h")
        local_rows = json.loads(json.dumps(result.as_json()["rows"]))
        assert len(local_rows) == len(on_cluster["rows"]), engine
        for mine, theirs in zip(on_cluster["rows"], local_rows, strict=True):
            assert mine.keys() == theirs.keys()
            for key, value in mine.items():
                if isinstance(value, float):
                    assert abs(value - theirs[key]) <= 1e-9 * max(1.0, abs(value)), (engine, key)
                else:
                    assert value == theirs[key], (engine, key)
