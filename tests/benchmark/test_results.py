"""Benchmark output: the pinned JSON shape, goals and the results table (no services)."""

from __future__ import annotations

from pathlib import Path

from otellake.benchmark import results
from otellake.benchmark.machine import machine, versions


def test_figures_carry_their_goal_and_direction() -> None:
    fast = results.figure("ingest_spans_per_s_per_core", 200_000.0)
    slow = results.figure("ingest_spans_per_s_per_core", 20_000.0)
    assert (fast.goal, fast.met, slow.met, fast.unit) == (40_000, True, False, "spans/s/core")
    assert results.figure("freshness_p95_s", 2.9).met is True
    assert results.figure("freshness_p95_s", 4.2).met is False
    assert results.figure("dedup_cost_ratio", 1.6).met is None  # reported, no goal
    assert results.figure("trace_lookup_10m_spans_s", None).met is None


def test_document_shape_and_results_table(tmp_path: Path) -> None:
    figures = [
        results.figure("bytes_per_span", 44.7, baseline={"kafka_disk_bytes_per_span": 30.1}),
        results.figure("ratio_vs_otlp_json", 2.1, baseline=8000.0),
    ]
    doc = results.document(machine(), versions(), figures, {"scale": 1.0})
    assert set(doc) >= {"machine", "versions", "results"}
    assert doc["machine"]["cores"] >= 1 and doc["versions"]["pyspark"] == "4.2.0"
    assert doc["results"][0] == {
        "name": "bytes_per_span",
        "value": 44.7,
        "unit": "B/span",
        "goal": 50.0,
        "met": True,
        "baseline": {"kafka_disk_bytes_per_span": 30.1},
    }
    page = tmp_path / "benchmark.md"
    page.write_text(f"# x\n{results.TABLE_START}\nold\n{results.TABLE_END}\nafter\n")
    assert results.update_table(page, doc)
    assert results.table_in(page) == results.markdown_table(doc)
    text = page.read_text()
    assert "old" not in text and text.endswith("after\n")
    assert "| `bytes_per_span` | 44.7 B/span | ≤ 50 | yes |" in text
    assert "| `ratio_vs_otlp_json` | 2.1 x | ≥ 2.5 | **no** |" in text
    plain = tmp_path / "plain.md"
    plain.write_text("no markers here\n")
    assert not results.update_table(plain, doc)
    assert results.table_in(plain) is None
    assert plain.read_text() == "no markers here\n"


def test_a_steady_rate_leaves_out_the_batch_that_started_the_query() -> None:
    from otellake.benchmark.ours import steady_rows_per_s

    def batch(rows: int, seconds: float) -> dict[str, object]:
        return {"rows": rows, "seconds": {"batch": seconds}}

    # the first batch (a cold JVM) is left out: 300 rows in 3 s
    assert steady_rows_per_s([batch(100, 20.0), batch(100, 1.0), batch(200, 2.0)]) == 100.0
    assert steady_rows_per_s([batch(100, 4.0)]) == 25.0  # a single batch is all there is
    assert steady_rows_per_s([]) == 0.0
