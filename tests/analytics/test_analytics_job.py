"""`jobs/analytics.py` under spark-submit appends rows to analytics_<analysis> tables."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import deltalake

from otellake.settings import Settings
from tests.conftest import settings_env

ROOT = Path(__file__).resolve().parents[2]
DAY2 = ["--from", "2026-01-02T00:00:00Z", "--to", "2026-01-02T01:00:00Z"]


def test_spark_submit_writes_analytics_tables(small_lake: Settings) -> None:
    env = settings_env(small_lake)
    bin_dir = ROOT / ".venv" / "bin"
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    conf = subprocess.run(
        [str(bin_dir / "otellake"), "spark-conf"], env=env, check=True, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    job = ["spark-submit", "--master", "local[2]", *shlex.split(conf), "jobs/analytics.py"]
    for args in (["errors", *DAY2, "--by", "operation"], ["deps", *DAY2, "--format", "json"]):
        proc = subprocess.run(
            [*job, *args], env=env, capture_output=True, text=True, timeout=600, check=False,
            cwd=ROOT,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "appended" in proc.stdout  # spark-submit joins Python's stderr to stdout
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith('{"analysis"')]
    deps_doc = json.loads(line)
    assert deps_doc["engine"] == "spark" and len(deps_doc["rows"]) == 6

    errors = deltalake.DeltaTable(f"{small_lake.lake}/analytics_errors").to_pyarrow_table()
    rows = errors.to_pylist()
    assert sorted((r["service_name"], r["span_name"], r["spans"]) for r in rows) == [
        ("cart", "GET /cart", 1),
        ("checkout", "POST /checkout", 1),
        ("checkout", "POST /order", 1),
        ("frontend", "GET /", 1),
        ("frontend", "GET /product", 1),
        ("product-catalog", "GetProduct", 2),
        ("shipping", "consume order", 1),
    ]
    assert {r["engine"] for r in rows} == {"spark"}
    assert rows[0]["window_from"].isoformat().startswith("2026-01-02T00:00:00")
    assert json.loads(rows[0]["options"]) == {
        "by": "operation", "kinds": ["SERVER", "CONSUMER"],
    }  # fmt: skip
    deps = deltalake.DeltaTable(f"{small_lake.lake}/analytics_deps").to_pyarrow_table()
    assert deps.num_rows == 6 and sum(deps.column("calls").to_pylist()) == 7
