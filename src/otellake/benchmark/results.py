"""Benchmark figures: each beside its goal, written as JSON and as the table in
``docs/benchmark.md``.

Shape pinned in docs/contract.md ("Benchmark output"): ``{"machine", "versions", "results":
[{"name", "value", "unit", "goal", "met", "baseline"}]}``. A missed goal is reported, never a
failure: speed lives here, not in tests.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# name -> (unit, goal, "min" (value >= goal) or "max" (value <= goal)); goal None = reported only
GOALS: dict[str, tuple[str, float | None, str]] = {
    "ingest_spans_per_s": ("spans/s", None, "min"),
    "ingest_spans_per_s_per_core": ("spans/s/core", 40_000, "min"),
    "ingest_logs_per_s_per_core": ("logs/s/core", None, "min"),
    "ingest_metric_points_per_s_per_core": ("points/s/core", None, "min"),
    "dedup_cost_ratio": ("x", None, "max"),
    "ingest_jvm_start_s": ("s", None, "max"),
    "ratio_vs_otlp_json": ("x", 2.5, "min"),
    "ratio_vs_python_consumer": ("x", 1.0, "min"),
    "ratio_vs_seed_flat_json": ("x", 2.0, "min"),
    "freshness_p50_s": ("s", 2.0, "max"),
    "freshness_p95_s": ("s", 3.0, "max"),
    "sustained_20k_freshness_p95_s": ("s", 5.0, "max"),
    "bytes_per_span": ("B/span", 50.0, "max"),
    "duckdb_latency_10m_spans_s": ("s", 1.0, "max"),
    "spark_latency_10m_spans_s": ("s", 8.0, "max"),
    "duckdb_errors_10m_spans_s": ("s", 1.0, "max"),
    "trace_lookup_10m_spans_s": ("s", 0.3, "max"),
    "spark_trace_lookup_10m_spans_s": ("s", 2.0, "max"),
    "attr_search_10m_spans_s": ("s", 0.3, "max"),
    "attr_search_map_10m_spans_s": ("s", 1.0, "max"),
    "spark_attr_search_10m_spans_s": ("s", 3.0, "max"),
    "critical_path_10m_spans_s": ("s", 2.0, "max"),
    "ingest_driver_peak_heap_mib": ("MiB", 2048.0, "max"),
    "ingest_driver_peak_live_heap_mib": ("MiB", 1024.0, "max"),
}
# The results page and the markers around the table that every full run rewrites.
RESULTS_DOC = Path("docs") / "benchmark.md"
TABLE_START = "<!-- bench:start -->"
TABLE_END = "<!-- bench:end -->"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    unit: str
    goal: float | None
    met: bool | None
    baseline: Any = None  # what the value is compared with (e.g. the alternative's spans/s)


def figure(name: str, value: float | None, baseline: Any = None) -> Figure:
    unit, goal, direction = GOALS[name]
    met = None
    if goal is not None and value is not None:
        met = value >= goal if direction == "min" else value <= goal
    shown = None if value is None else round(value, 4 if abs(value) < 10 else 1)
    return Figure(name, shown, unit, goal, met, baseline)


def document(
    machine: dict[str, Any], versions: dict[str, str], figures: list[Figure], extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "machine": machine,
        "versions": versions,
        "results": [asdict(f) for f in figures],
        **extra,
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def markdown_table(doc: dict[str, Any]) -> str:
    rows = ["| figure | value | goal | met |", "|---|---|---|---|"]
    for r in doc["results"]:
        _, _, direction = GOALS.get(r["name"], ("", None, "min"))
        goal = (
            "" if r["goal"] is None else ("≥ " if direction == "min" else "≤ ") + f"{r['goal']:g}"
        )
        value = "n/a" if r["value"] is None else f"{r['value']:,.4g} {r['unit']}"
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        rows.append(f"| `{r['name']}` | {value} | {goal} | {met} |")
    m = doc["machine"]
    rows.append("")
    rows.append(
        f"{m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; load average at start "
        f"{m['load_average_at_start'][0]}; scale {doc.get('scale', '')}."
    )
    return "\n".join(rows)


def _table_pattern() -> re.Pattern[str]:
    return re.compile(re.escape(TABLE_START) + "\n(.*?)\n" + re.escape(TABLE_END), re.S)


def table_in(page: Path) -> str | None:
    """The table between the bench markers of ``page``; None when the markers are missing."""
    match = _table_pattern().search(page.read_text(encoding="utf-8"))
    return None if match is None else match.group(1)


def update_table(page: Path, doc: dict[str, Any]) -> bool:
    """Replace the table between the bench markers; False when the markers are missing."""
    text = page.read_text(encoding="utf-8")
    pattern = _table_pattern()
    if not pattern.search(text):
        return False
    table = f"{TABLE_START}\n{markdown_table(doc)}\n{TABLE_END}"
    page.write_text(pattern.sub(lambda _m: table, text), encoding="utf-8")
    return True
