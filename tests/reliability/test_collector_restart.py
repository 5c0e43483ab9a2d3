"""The Collector restarts while an OTel SDK keeps sending: what the SDK exported arrives."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from otellake.settings import Settings
from otellake.stack import collector, lifecycle
from otellake.stack.processes import stop as stop_service
from tests.ingest.conftest import ingest_now, read_table
from tests.reliability.conftest import SCALE, report


def test_collector_restart_while_the_sdk_sends(
    private_stack: Settings, spark: Any, tmp_path: Path
) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    settings = private_stack.model_copy(
        update={"home": tmp_path / "home", "lake": str(tmp_path / "lake")}
    )
    exported: set[str] = set()
    failed: set[str] = set()

    class Counting(SpanExporter):
        """What the SDK reports: each batch's spans as exported or failed."""

        def __init__(self) -> None:
            self.inner = OTLPSpanExporter(
                endpoint=f"http://127.0.0.1:{settings.otlp_grpc_port}", insecure=True, timeout=30
            )

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            result = self.inner.export(spans)
            ids = {format(s.context.span_id, "016x") for s in spans if s.context}
            (exported if result == SpanExportResult.SUCCESS else failed).update(ids)
            return result

        def shutdown(self) -> None:
            self.inner.shutdown()

    provider = TracerProvider(resource=Resource.create({"service.name": "restart-probe"}))
    provider.add_span_processor(
        BatchSpanProcessor(Counting(), max_export_batch_size=200, schedule_delay_millis=200)
    )
    tracer = provider.get_tracer("restart")
    sent = 0
    done = threading.Event()
    back = threading.Event()  # set once the Collector answers again
    created_after_restart: set[str] = set()

    def send() -> None:
        nonlocal sent
        while not done.is_set():
            for _ in range(20):
                with tracer.start_as_current_span("work") as s:
                    sent += 1
                    if back.is_set():
                        created_after_restart.add(format(s.get_span_context().span_id, "016x"))
            time.sleep(0.02)  # the SDK's pace: ~1,000 spans/s

    sender = threading.Thread(target=send)
    sender.start()
    try:
        time.sleep(3 * SCALE)  # sending before the restart
        # (the stack's own settings: its pid files live under its home)
        pid = stop_service(
            collector.files(private_stack), str(collector.config_path(private_stack))
        )
        assert pid is not None
        time.sleep(2)  # the Collector is down; the SDK keeps producing spans
        lifecycle.up(private_stack, progress=lambda _m: None)
        back.set()
        time.sleep(3 * SCALE)  # and sending after it
    finally:
        done.set()
        sender.join(timeout=60)
        provider.force_flush(60_000)
        provider.shutdown()

    landed: set[str] = set()
    deadline = time.monotonic() + 180
    while not exported <= landed and time.monotonic() < deadline:
        ingest_now(spark, settings)  # the Collector exports to Kafka asynchronously
        rows = read_table(spark, settings, "spans").where(F.col("service_name") == "restart-probe")
        landed = {r.span_id for r in rows.select("span_id").collect()}
    spans = read_table(spark, settings, "spans")
    report(
        "collector_restart",
        sdk_spans=sent,
        sdk_exported=len(exported),
        sdk_failed=len(failed),
        landed=len(landed),
        landed_of_failed=len(landed & failed),
        duplicated=spans.count() - spans.select("trace_id", "span_id").distinct().count(),
    )
    assert exported <= landed
    # The SDK retried what the stopped Collector refused: no batch was reported failed, and
    # sending resumed after the restart (spans created then were exported and landed).
    assert failed == set(), len(failed)
    assert exported & created_after_restart
    assert landed <= exported  # nothing lands that the SDK did not report exported
    assert spans.count() == spans.select("trace_id", "span_id").distinct().count()
