"""`make demo`: the whole pipeline end to end on local defaults.

Stack up -> streaming ingest starts -> the OTel SDK sends probe spans, logs and metrics to the
Collector -> they show up in Kafka (decoded from the three topics) -> they show up in the
lake -> a generated shop goes through the Collector into the lake -> every analysis runs on
it (DuckDB) -> ingest stops -> stack down (unless --keep-up) -> a report of the last hour.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from otellake import lake, schemas, topic_peek
from otellake.errors import ServiceNotReady
from otellake.ingest import IngestOptions, run_ingest
from otellake.settings import Settings, Signal
from otellake.stack import lifecycle
from otellake.telemetry_probe import Probe, send_probe

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEMO_SERVICES = ("frontend", "checkout", "payment")
GENERATED_SPANS = 3000
VISIBLE_TIMEOUT_S = 120.0


class DemoView(Protocol):
    """Where the demo shows what it found (the command line prints it; a test may collect it)."""

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None: ...

    def line(self, text: str) -> None: ...


def _show_kafka(
    settings: Settings, view: DemoView, starts: dict[Signal, dict], probes: list[Probe]
) -> None:
    expected: dict[Signal, str] = {
        "traces": probes[-1].span_name,
        "logs": probes[-1].log_body,
        "metrics": probes[-1].metric_name,
    }
    rows: list[list[str]] = []
    missing: list[str] = []
    for signal, topic in settings.topics.items():
        name = expected[signal]
        values = topic_peek.read_until(
            settings,
            topic,
            starts[signal],
            functools.partial(topic_peek.contains, signal, name=name),
            timeout_s=60,
        )
        summaries = [topic_peek.summarize(signal, topic_peek.decode(signal, v)) for v in values]
        services = sorted({svc for s in summaries for svc in s.services})
        found = topic_peek.contains(signal, values, name)
        if not found:
            missing.append(topic)
        rows.append(
            [
                topic,
                str(len(values)),
                str(sum(s.items for s in summaries)),
                ",".join(services),
                "yes" if found else "no",
            ]
        )
    view.table(["topic", "records", "items", "services", "found"], rows)
    if missing:
        raise ServiceNotReady(
            f"telemetry did not arrive on {', '.join(missing)} within 60 s; "
            f"see the logs under {settings.home / 'logs'}"
        )


def _lake_counts(spark: SparkSession, settings: Settings, probes: list[Probe]) -> dict[str, int]:
    """Rows of the demo's own telemetry per table (0 while a table does not exist yet)."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    wanted = {
        "spans": F.col("trace_id").isin(*[p.trace_id for p in probes]),
        "logs": F.col("body").isin(*[p.log_body for p in probes]),
        "metrics_sum": F.col("metric_name").isin(*[p.metric_name for p in probes]),
    }
    counts = {}
    for table, condition in wanted.items():
        path = lake.table_path(settings, table)
        if not DeltaTable.isDeltaTable(spark, path):  # ingest creates it when it starts
            counts[table] = 0
            continue
        counts[table] = spark.read.format("delta").load(path).where(condition).count()
    return counts


def _show_table_counts(spark: SparkSession, settings: Settings, view: DemoView) -> None:
    from delta.tables import DeltaTable

    rows = []
    for name in schemas.table_names():
        path = lake.table_path(settings, name)
        count = (
            spark.read.format("delta").load(path).count()
            if DeltaTable.isDeltaTable(spark, path)
            else 0
        )
        rows.append([name, str(count)])
    view.table(["lake table", "rows"], rows)


def _wait_for_lake(
    spark: SparkSession, settings: Settings, probes: list[Probe], view: DemoView
) -> None:
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = _lake_counts(spark, settings, probes)
        if all(n >= len(probes) for n in counts.values()):
            _show_table_counts(spark, settings, view)
            return
        time.sleep(1)  # the lake is polled until the demo's telemetry is visible
    raise ServiceNotReady(
        f"the demo's telemetry was not all in {settings.lake} after {VISIBLE_TIMEOUT_S:.0f} s "
        f"(rows so far: {counts})"
    )


def _generate_shop(settings: Settings, progress: Callable[[str], None]) -> tuple[int, int, int]:
    """The last 15 minutes of a microservice shop through the Collector (the true path), so
    every analysis has something to answer. Returns (spans, first start ns, end ns)."""
    from datetime import UTC, datetime, timedelta

    from otellake.generate.run import GenerateOptions, generate
    from otellake.generate.simulate import Plan

    begin = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
    start_ns = int(begin.timestamp()) * 1_000_000_000
    plan = Plan(start_ns, 15 * 60 * 1_000_000_000, GENERATED_SPANS)
    result = generate(settings, GenerateOptions(plan, mode="collector", seed=int(time.time())))
    progress(
        f"generated {result.spans} spans, {result.logs} log records and "
        f"{result.metric_points} metric points of a microservice shop (last 15 min)"
    )
    return result.spans, plan.start_ns, plan.start_ns + plan.duration_ns


def _wait_for_spans(
    spark: SparkSession, settings: Settings, generated: tuple[int, int, int], probes: int
) -> None:
    """Until the window holds the generated spans plus the probes' (sent just before)."""
    from pyspark.sql import functions as F

    spans, start_ns, end_ns = generated
    path = lake.table_path(settings, "spans")
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    landed = 0
    while time.monotonic() < deadline:
        landed = (
            spark.read.format("delta").load(path)
            .where(F.col("start_time_unix_nano").between(start_ns, end_ns + 60 * 10**9))
            .count()
        )  # fmt: skip
        if landed >= spans + probes:
            return
        time.sleep(1)  # the lake is polled until the generated spans are visible
    raise ServiceNotReady(f"{landed} of {spans} generated spans reached {settings.lake}")


def _show_analyses(settings: Settings, view: DemoView) -> None:
    """Every analysis on the demo lake (DuckDB), one line each."""
    from otellake.analytics import api

    rows = []
    search = api.analyze("search", since="1h", settings=settings, status="ERROR")
    trace_id = search.rows[0]["trace_id"] if search.rows else None
    for analysis in api.ANALYSES:
        options: dict[str, Any] = {"since": "1h"}
        if analysis == "trace":
            options = {"trace_id": trace_id}
        result = search if analysis == "search" else api.analyze(
            analysis, settings=settings, **options
        )  # fmt: skip
        first = (
            ", ".join(f"{k}={v}" for k, v in list(result.rows[0].items())[:4])
            if result.rows
            else ""
        )
        rows.append([analysis, str(len(result.rows)), first[:90]])
    view.table(["analysis", "rows", "first row"], rows)
    view.line("try: .venv/bin/otellake analyze --help")


def run_demo(
    settings: Settings, view: DemoView, progress: Callable[[str], None], keep_up: bool = False
) -> None:
    from otellake.spark_session import build_spark_session

    lifecycle.up(settings, progress)
    stop = threading.Event()
    failure: list[BaseException] = []
    try:
        spark = build_spark_session(settings, app_name="otellake-demo")

        def ingest() -> None:
            try:
                run_ingest(spark, settings, IngestOptions(), progress, stop)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                failure.append(exc)

        ingest_thread = threading.Thread(target=ingest, name="ingest", daemon=True)
        ingest_thread.start()
        starts = {sig: topic_peek.end_offsets(settings, t) for sig, t in settings.topics.items()}
        probes = [send_probe(settings, service_name=s) for s in DEMO_SERVICES]
        progress(
            f"sent {len(probes)} traces, logs and metrics through the Collector "
            f"(services {', '.join(DEMO_SERVICES)})"
        )
        _show_kafka(settings, view, starts, probes)
        _wait_for_lake(spark, settings, probes, view)
        generated = _generate_shop(settings, progress)
        _wait_for_spans(spark, settings, generated, len(probes))
        _show_table_counts(spark, settings, view)
        _show_analyses(settings, view)
        if failure:
            raise failure[0]
        stop.set()
        ingest_thread.join(timeout=300)
        progress(f"lake: {settings.lake}")
    finally:
        stop.set()
        if not keep_up:
            lifecycle.down(settings, progress)
    from otellake.report.build import report_last

    view.line(f"report: {report_last(settings)}")
