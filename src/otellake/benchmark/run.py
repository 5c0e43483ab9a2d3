"""Every figure of the benchmark (`otellake bench [--quick]`) in one run, on one machine.

It starts a private broker and Collector (random loopback ports, under ``var/bench``), so it
never disturbs a running `make up` stack, and stops them at the end. Full scale: 2M spans for
ingest and the alternatives, 60 s of 2k spans/s for freshness, 180 s of 20k spans/s from the
generator for sustained ingest, a 10M-span lake for analytics.
``--quick`` is the same at 1/10 scale. Writes ``bench/results/latest.json`` (quick:
``quick.json``) and refreshes the table in ``docs/benchmark.md``; a missed goal is printed, never
a failure.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otellake.benchmark import PARTS, analytics_lake, freshness, ours, results, sustained
from otellake.benchmark.machine import machine, versions
from otellake.errors import BadInput
from otellake.settings import Settings, load_settings
from otellake.stack import lifecycle
from otellake.stack.processes import private_stack_values

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ROOT = Path(__file__).resolve().parents[3]
SUSTAINED_RATE = 20_000  # spans/s, the generator's rate in the sustained part


def parse_parts(only: str | None) -> tuple[str, ...]:
    """The parts ``--only`` names (comma-separated), in the order given; every part for None."""
    parts = PARTS if only is None else tuple(p.strip() for p in only.split(",") if p.strip())
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise BadInput(f"unknown bench part(s) {unknown}; expected some of {list(PARTS)}")
    return parts


def save(doc: dict[str, Any], quick: bool, parts: tuple[str, ...]) -> Path:
    """Write ``doc`` to bench/results/ and return the file. Only a full-scale run of every part
    is ``latest.json`` and refreshes the table in docs/benchmark.md: a quick or partial run
    never replaces the figures the docs quote."""
    name = "quick" if quick else "latest"
    if parts != PARTS:
        name += "-only-" + "-".join(parts)
    out = ROOT / "bench" / "results" / f"{name}.json"
    results.write_json(out, doc)
    if not quick and parts == PARTS:
        results.update_table(ROOT / results.RESULTS_DOC, doc)
    return out


def private_settings(base: Settings, home: Path) -> Settings:
    values = private_stack_values(home, "bench") | {"lake": str(home / "lake")}
    return base.model_copy(update=values)


def _fresh_lake(settings: Settings, name: str, own_topics: bool = True) -> Settings:
    """Same stack, own lake (and, unless the Collector must feed it, own topics), so the
    parts do not see each other's data."""
    tag = uuid.uuid4().hex[:8]
    update: dict[str, Any] = {"lake": str(Path(settings.home) / f"lake-{name}")}
    if own_topics:
        update |= {
            "topic_spans": f"{name}_spans_{tag}",
            "topic_logs": f"{name}_logs_{tag}",
            "topic_metrics": f"{name}_metrics_{tag}",
        }
    return settings.model_copy(update=update)


@dataclass(frozen=True)
class Scale:
    """The sizes of one run: full scale, or 1/10 of it for ``--quick``."""

    factor: float
    ingest_spans: int
    lake_spans: int
    fresh_seconds: float
    sustained_seconds: int

    @classmethod
    def of(cls, quick: bool) -> Scale:
        factor = 0.1 if quick else 1.0
        return cls(
            factor=factor,
            ingest_spans=int(2_000_000 * factor),
            lake_spans=int(10_000_000 * factor),
            fresh_seconds=20.0 if quick else 60.0,
            sustained_seconds=30 if quick else 180,
        )


class _Sessions:
    """The bench's one SparkSession at a time. ``fresh()`` stops it and starts another, so one
    part's leftovers (cached batches, Delta and state-store caches, execution memory) cannot
    starve the next: in one shared session the OTLP/JSON alternative's job was aborted for want
    of heap after our ingest (twice, quiet machine). ``fresh(new_jvm=True)`` also ends the
    driver JVM and launches another: the alternatives run last, each in a JVM of its own (in
    a new session of the shared JVM, the OTLP/JSON one passed twice, then failed the same way).
    Our other parts share the first JVM, warm, as a long-running ingest is: run cold, in a JVM
    each, 260k logs took 23.0 s instead of 8.6 s and the freshness p95 was 14.5 s, not 4.5 s."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        started = time.monotonic()
        self.spark = self._start()
        self.jvm_start = time.monotonic() - started

    def _start(self) -> SparkSession:
        from otellake.spark_session import build_spark_session

        return build_spark_session(self._settings, app_name="otellake-bench")

    def fresh(self, new_jvm: bool = False) -> SparkSession:
        if new_jvm:
            self.stop()
        else:
            self.spark.catalog.clearCache()
            jvm: Any = self.spark.sparkContext._jvm
            jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # static: outlives a session
            self.spark.stop()
        self.spark = self._start()
        return self.spark

    def new_jvm(self) -> SparkSession:
        return self.fresh(new_jvm=True)

    def stop(self) -> None:
        """Stop the session and its driver JVM (PySpark's gateway exits when its stdin
        closes); the next session launches a new one."""
        from pyspark import SparkContext

        gateway: Any = SparkContext._gateway
        self.spark.stop()
        process = getattr(gateway, "proc", None)
        if process is None:  # under spark-submit: the JVM is not ours to end
            return
        gateway.shutdown()
        process.stdin.close()
        process.wait(timeout=60)
        SparkContext._gateway = None
        SparkContext._jvm = None


@dataclass(frozen=True)
class _Context:
    """What every part reads and adds to: the sessions, the private stack's settings, the
    run's size, the detail of the results document, where progress goes."""

    sessions: _Sessions
    settings: Settings
    size: Scale
    detail: dict[str, Any]
    emit: Callable[[str], None]


def run_bench(quick: bool, parts: tuple[str, ...], emit: Callable[[str], None]) -> dict[str, Any]:
    """Every part in ``parts`` on a private broker and Collector (stopped at the end, also on
    failure); the results document (see docs/contract.md, "Benchmark output")."""
    size = Scale.of(quick)
    base = load_settings()
    home = (ROOT / "var" / "bench" / "home").resolve()
    shutil.rmtree(home, ignore_errors=True)
    settings = private_settings(base, home)
    start_machine = machine()
    figures: list[results.Figure] = []
    detail: dict[str, Any] = {"scale": size.factor}
    emit(f"starting a private broker and Collector under {home}")
    lifecycle.up(settings, emit)
    try:
        sessions = _Sessions(settings)
        context = _Context(sessions, settings, size, detail, emit)
        figures.append(results.figure("ingest_jvm_start_s", sessions.jvm_start))
        ingested = None
        if "ingest" in parts or "baselines" in parts:
            ingested = _ingest_part(context)
            figures += ingested.figures
        later: list[results.Figure] = []
        if "freshness" in parts:
            later += _freshness_part(context)
        if "sustained" in parts:
            later += _sustained_part(context)
        if "analytics" in parts:
            later += _analytics_part(context)
        if ingested is not None and "baselines" in parts:
            # last, each in a JVM of its own (see _Sessions); listed beside our ingest
            figures += _baselines(context, ingested)
        figures += ingested.signals if ingested is not None else []
        figures += later
        sessions.stop()
    finally:
        lifecycle.down(settings, emit)
    return results.document(start_machine, versions(), figures, detail)


@dataclass(frozen=True)
class _Ingested:
    """Our ingest part: its figures, the other signals' figures, and what the alternatives
    compare against (the run's settings and topics, its figures, the generated input)."""

    figures: list[results.Figure]
    signals: list[results.Figure]
    run: Settings
    measured: ours.IngestFigures
    generated: Any


def _ingest_part(context: _Context) -> _Ingested:
    """Our ingest of generated spans (default settings: batches sized by the ingest's own
    admission control), then the other signals."""
    from otellake.kafka_clients import ensure_topics

    sessions, size, detail, emit = context.sessions, context.size, context.detail, context.emit
    run = _fresh_lake(context.settings, "ours")
    ensure_topics(run, list(run.topics.values()), partitions=3)
    emit(f"generating {size.ingest_spans:,} spans to Kafka (otlp_proto)")
    generated = ours.options(size.ingest_spans)
    produced = ours.produce(run, generated)
    emit(f"generated at {produced.spans_per_s:,.0f} spans/s; ingesting")
    measured = ours.ingest(sessions.spark, run, produced, lambda _m: None)
    n = measured.spans
    detail["ingest"] = {
        "spans": n, "seconds": round(measured.seconds, 2),
        "cores": measured.cores, "files": measured.files,
        "generator_spans_per_s": round(produced.spans_per_s),
        "kafka_record_bytes_per_span": round(measured.kafka_record_bytes / n, 1),
        "kafka_disk_bytes_per_span": round(measured.kafka_disk_bytes / n, 1),
        "peak_live_heap_mib": round(measured.peak_live_heap_mib),
        "batches": len(measured.batches),
        "stage_seconds": ours.stage_totals(measured.batches),
    }  # fmt: skip
    kafka_bytes = {
        key: detail["ingest"][key]
        for key in ("kafka_disk_bytes_per_span", "kafka_record_bytes_per_span")
    }
    figures = [
        results.figure("ingest_spans_per_s", measured.spans_per_s),
        results.figure("ingest_spans_per_s_per_core", measured.per_core),
        results.figure("bytes_per_span", measured.disk_bytes / measured.spans, kafka_bytes),
        results.figure("ingest_driver_peak_heap_mib", measured.peak_heap_mib),
        results.figure("ingest_driver_peak_live_heap_mib", measured.peak_live_heap_mib),
    ]
    signals = _other_signals(sessions.fresh, run, measured, detail, emit, size.factor)
    return _Ingested(figures, signals, run, measured, generated)


def _freshness_part(context: _Context) -> list[results.Figure]:
    seconds = context.size.fresh_seconds
    run = _fresh_lake(context.settings, "fresh", own_topics=False)  # the Collector's topics
    context.emit(f"freshness: 2,000 spans/s through the Collector for {seconds:.0f} s")
    fresh = freshness.measure(context.sessions.fresh(), run, 2000, seconds, lambda _m: None)
    context.detail["freshness"] = vars(fresh)
    return [
        results.figure("freshness_p50_s", fresh.p50_s),
        results.figure("freshness_p95_s", fresh.p95_s),
    ]


def _sustained_part(context: _Context) -> list[results.Figure]:
    from otellake.kafka_clients import ensure_topics

    seconds = context.size.sustained_seconds
    run = _fresh_lake(context.settings, "sustained")
    ensure_topics(run, list(run.topics.values()), partitions=3)
    context.emit(f"sustained: {SUSTAINED_RATE:,} spans/s to Kafka for {seconds} s")
    held = sustained.measure(
        context.sessions.fresh(), run, SUSTAINED_RATE, seconds, lambda _m: None
    )
    context.detail["sustained"] = vars(held)
    return [results.figure("sustained_20k_freshness_p95_s", held.p95_s)]


def _analytics_part(context: _Context) -> list[results.Figure]:
    spans, emit = context.size.lake_spans, context.emit
    lake = (ROOT / "var" / "bench" / f"lake-{spans}").resolve()
    context.detail["analytics_build_s"] = round(analytics_lake.ensure_lake(lake, spans, emit), 1)
    timings = analytics_lake.measure(lake, 3, context.sessions.fresh(), emit)
    context.detail["analytics"] = timings | {"spans": spans}
    return analytics_lake.figures(timings)


def _other_signals(
    session: Callable[[], SparkSession],
    run: Settings,
    measured: ours.IngestFigures,
    detail: dict[str, Any],
    emit: Callable[[str], None],
    scale: float,
) -> list[results.Figure]:
    """The logs of the same generated run and the points of a metrics-heavy one
    (``ours.metrics_options``), each ingested alone, and the spans again with the dedup off
    (its cost: rate without it / rate with it)."""
    from otellake.kafka_clients import ensure_topics

    metrics_run = _fresh_lake(run, "points")
    ensure_topics(metrics_run, list(metrics_run.topics.values()), partitions=3)
    made = ours.produce(metrics_run, ours.metrics_options(int(100_000 * scale)))
    emit(
        f"ingesting the run's logs, {made.metric_points:,} metric points of "
        f"{ours.POINTS_RUN_HOURS} h simulated, then the spans again with the dedup off"
    )
    logs = ours.ingest_signal(session(), run, "logs")
    points = ours.ingest_signal(session(), metrics_run, "metrics")
    no_dedup = run.model_copy(update={"lake": f"{run.lake}-no-dedup", "dedup_window": "0"})
    # (same home: its batches follow ours in the progress file)
    ours_batches = len(ours.stage_seconds(no_dedup, "ingest_traces"))
    spans_off = ours.ingest_signal(session(), no_dedup, "traces")
    off_batches = ours.stage_seconds(no_dedup, "ingest_traces")[ours_batches:]
    # Steady batches against steady batches: ours ran first in a new JVM, the run without
    # the dedup in the same JVM, warm, so the wall-time ratio also counted the JIT's warm-up
    # against the dedup (2M spans: 1.49 by wall time where the steady batches gave 1.23).
    steady = {
        "dedup_on_rows_per_s": ours.steady_rows_per_s(measured.batches),
        "dedup_off_rows_per_s": ours.steady_rows_per_s(off_batches),
    }
    wall_ratio = spans_off.per_core / measured.per_core
    detail["other_signals"] = {
        "logs": vars(logs), "metric_points": vars(points), "spans_dedup_off": vars(spans_off),
        "steady": {k: round(v) for k, v in steady.items()},
        "wall_ratio_dedup_off_on": round(wall_ratio, 3),
    }  # fmt: skip
    ratio = (
        steady["dedup_off_rows_per_s"] / steady["dedup_on_rows_per_s"]
        if steady["dedup_on_rows_per_s"] and steady["dedup_off_rows_per_s"]
        else wall_ratio  # no batch was recorded (a progress file lost): the wall times
    )
    return [
        results.figure("ingest_logs_per_s_per_core", logs.per_core),
        results.figure("ingest_metric_points_per_s_per_core", points.per_core),
        results.figure("dedup_cost_ratio", ratio),
    ]


def _baselines(context: _Context, ingested: _Ingested) -> list[results.Figure]:
    """The same spans through the alternatives (see benchmark/baselines.py)."""
    from otellake.benchmark import compare

    return compare.compare(
        context.sessions.new_jvm,
        ingested.run,
        ingested.measured,
        ingested.generated,
        context.detail,
        context.emit,
    )
