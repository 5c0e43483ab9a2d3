"""`otellake bench`'s choices that need no stack: which parts run, at what size, and where the
results go (only a full run replaces latest.json and the table in docs/benchmark.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otellake.benchmark import PARTS, results, run
from otellake.errors import BadInput

DOC = {
    "machine": {"cores": 2, "memory_gib": 8, "cpu": "x", "load_average_at_start": [0.1]},
    "versions": {},
    "results": [],
    "scale": 1.0,
}


def test_parts_default_to_all_and_keep_the_given_order() -> None:
    assert run.parse_parts(None) == PARTS
    assert run.parse_parts(" freshness, ingest ,") == ("freshness", "ingest")


def test_an_unknown_part_is_bad_input_naming_it() -> None:
    with pytest.raises(BadInput, match=r"unknown bench part\(s\) \['ingset'\]"):
        run.parse_parts("ingset,freshness")


def test_quick_is_a_tenth_of_full_scale() -> None:
    full, quick = run.Scale.of(False), run.Scale.of(True)
    assert (full.ingest_spans, full.lake_spans) == (2_000_000, 10_000_000)
    assert (quick.ingest_spans, quick.lake_spans) == (200_000, 1_000_000)
    assert (quick.fresh_seconds, quick.sustained_seconds) == (20.0, 30)


def _page(root: Path) -> Path:
    page = root / results.RESULTS_DOC
    page.parent.mkdir(parents=True)
    page.write_text(f"before\n{results.TABLE_START}\nold\n{results.TABLE_END}\nafter\n")
    return page


def test_only_a_full_run_replaces_latest_and_the_docs_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "ROOT", tmp_path)
    page = _page(tmp_path)
    partial = run.save(DOC, quick=False, parts=("freshness",))
    quick = run.save(DOC, quick=True, parts=PARTS)
    assert (partial.name, quick.name) == ("latest-only-freshness.json", "quick.json")
    assert results.table_in(page) == "old"
    full = run.save(DOC, quick=False, parts=PARTS)
    assert full == tmp_path / "bench" / "results" / "latest.json"
    assert json.loads(full.read_text()) == DOC
    assert results.table_in(page) == results.markdown_table(DOC)


class _FakeSpark:
    def __init__(self, log: list[str], n: int) -> None:
        self.log, self.n = log, n

    def stop(self) -> None:
        self.log.append(f"stop session {self.n}")


def _fake_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """run_bench with every measurement replaced by a stub that logs its call, so the order of
    the parts and their sessions can be checked without a stack or a JVM."""
    from types import SimpleNamespace as NS

    from otellake import kafka_clients
    from otellake.benchmark import analytics_lake, compare, freshness, ours, sustained
    from otellake.settings import Settings

    log: list[str] = []

    class Sessions:
        def __init__(self, _settings: Settings) -> None:
            self.count, self.jvm_start = 0, 1.5
            self.spark = _FakeSpark(log, 0)

        def fresh(self, new_jvm: bool = False) -> _FakeSpark:
            self.spark.stop()
            self.count += 1
            self.spark = _FakeSpark(log, self.count)
            log.append(f"{'new JVM, ' if new_jvm else ''}session {self.count}")
            return self.spark

        def new_jvm(self) -> _FakeSpark:
            return self.fresh(new_jvm=True)

        def stop(self) -> None:
            self.spark.stop()

    figures = NS(spans=10, seconds=1.0, cores=2, files=1, kafka_record_bytes=50,
                 kafka_disk_bytes=40, peak_live_heap_mib=1.0, peak_heap_mib=2.0, batches=[],
                 spans_per_s=10.0, per_core=5.0, disk_bytes=30)  # fmt: skip
    signal = NS(per_core=4.0)
    monkeypatch.setattr(run, "ROOT", tmp_path)
    monkeypatch.setattr(run, "_Sessions", Sessions)
    monkeypatch.setattr(run, "load_settings", lambda: Settings(home=tmp_path))
    monkeypatch.setattr(run, "machine", lambda: {"cores": 2})
    monkeypatch.setattr(run, "versions", lambda: {})
    monkeypatch.setattr(run.lifecycle, "up", lambda *_a: log.append("up"))
    monkeypatch.setattr(run.lifecycle, "down", lambda *_a: log.append("down"))
    monkeypatch.setattr(kafka_clients, "ensure_topics", lambda *_a, **_k: None)
    monkeypatch.setattr(ours, "produce", lambda *_a: NS(spans_per_s=9.0, metric_points=3))

    def on_session(name: str, result: object, at: int = 0) -> Any:
        """A stub that logs which session (argument ``at``) it measured on."""

        def stub(*args: Any) -> object:
            log.append(f"{name} on {args[at].n}")
            return result

        return stub

    monkeypatch.setattr(ours, "ingest", on_session("ours", figures))
    monkeypatch.setattr(
        ours, "ingest_signal", lambda spark, _s, sig: on_session(sig, signal)(spark)
    )

    def baselines(session: Any, *_a: Any) -> list[Any]:
        log.append(f"baselines on {session().n}")
        log.append(f"baselines on {session().n}")
        return []

    monkeypatch.setattr(compare, "compare", baselines)
    monkeypatch.setattr(freshness, "measure", on_session("freshness", NS(p50_s=1.0, p95_s=2.0)))
    monkeypatch.setattr(sustained, "measure", on_session("sustained", NS(p95_s=3.0)))
    monkeypatch.setattr(analytics_lake, "ensure_lake", lambda *_a: 4.0)
    monkeypatch.setattr(analytics_lake, "measure", on_session("analytics", {}, at=2))
    monkeypatch.setattr(analytics_lake, "figures", lambda _t: [])
    return log


def test_the_parts_run_in_order_each_after_the_first_on_a_fresh_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ours on fresh sessions of one JVM; the alternatives last, each in a JVM of its own."""
    log = _fake_run(monkeypatch, tmp_path)
    doc = run.run_bench(True, PARTS, lambda _m: None)
    assert log == [
        "up",
        "ours on 0",
        "stop session 0", "session 1", "logs on 1",
        "stop session 1", "session 2", "metrics on 2",
        "stop session 2", "session 3", "traces on 3",
        "stop session 3", "session 4", "freshness on 4",
        "stop session 4", "session 5", "sustained on 5",
        "stop session 5", "session 6", "analytics on 6",
        "stop session 6", "new JVM, session 7", "baselines on 7",
        "stop session 7", "new JVM, session 8", "baselines on 8",
        "stop session 8",
        "down",
    ]  # fmt: skip
    names = [r["name"] for r in doc["results"]]
    assert names == [
        "ingest_jvm_start_s", "ingest_spans_per_s", "ingest_spans_per_s_per_core",
        "bytes_per_span", "ingest_driver_peak_heap_mib", "ingest_driver_peak_live_heap_mib",
        "ingest_logs_per_s_per_core", "ingest_metric_points_per_s_per_core", "dedup_cost_ratio",
        "freshness_p50_s", "freshness_p95_s", "sustained_20k_freshness_p95_s",
    ]  # fmt: skip
    bytes_per_span = doc["results"][names.index("bytes_per_span")]
    assert bytes_per_span["baseline"] == {
        "kafka_disk_bytes_per_span": 4.0,
        "kafka_record_bytes_per_span": 5.0,
    }
    assert doc["scale"] == 0.1 and doc["ingest"]["spans"] == 10
    assert set(doc) >= {"freshness", "sustained", "analytics", "analytics_build_s"}


def test_the_stack_stops_when_a_part_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from otellake.benchmark import freshness

    log = _fake_run(monkeypatch, tmp_path)

    def broken(*_a: object) -> None:
        raise RuntimeError("freshness broke")

    monkeypatch.setattr(freshness, "measure", broken)
    with pytest.raises(RuntimeError, match="freshness broke"):
        run.run_bench(True, ("freshness", "analytics"), lambda _m: None)
    assert log[0] == "up" and log[-1] == "down" and not any("analytics" in x for x in log)
