"""Observe freshness: SDK spans through the Collector while ingest streams (trigger 1s).

Usage (stack up): .venv/bin/python bench/freshness_traces.py [--seconds 40] [--rate 200]
Freshness of a span = modification time of the Parquet file holding it (written just before
its batch commits) - the span's end time. Prints p50/p95 as JSON.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pyspark.sql import functions as F

from otellake import lake
from otellake.ingest.runner import IngestOptions, run_ingest
from otellake.settings import Settings
from otellake.spark_session import build_spark_session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--rate", type=float, default=200, help="spans per second")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    base = Settings()
    settings = base.model_copy(
        update={
            "home": base.home / f"fresh-{tag}",
            "lake": str(base.home / f"fresh-{tag}" / "lake"),
        }
    )
    spark = build_spark_session(settings, app_name="bench-freshness")
    stop = threading.Event()
    thread = threading.Thread(
        target=run_ingest,
        daemon=True,
        args=(
            spark,
            settings,
            IngestOptions(trigger="1s", starting_offsets="latest"),
            lambda _m: None,
            stop,
        ),
    )
    thread.start()
    time.sleep(15)  # let the query start and reach "latest" before measuring
    provider = TracerProvider(resource=Resource.create({"service.name": f"fresh-{tag}"}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"http://127.0.0.1:{settings.otlp_grpc_port}", insecure=True),
            schedule_delay_millis=200,
        )
    )
    tracer = provider.get_tracer("freshness")
    end = time.monotonic() + args.seconds
    sent = 0
    while time.monotonic() < end:
        with tracer.start_as_current_span("op"):
            pass
        sent += 1
        time.sleep(1 / args.rate)
    provider.shutdown()
    time.sleep(15)  # let the last batches land
    stop.set()
    thread.join(timeout=120)
    df = (
        spark.read.format("delta")
        .load(lake.table_path(settings, "spans"))
        .where(F.col("service_name") == f"fresh-{tag}")
        .select(
            (
                F.unix_micros(F.col("_metadata.file_modification_time")) / 1e6
                - F.col("end_time_unix_nano") / 1e9
            ).alias("lag")
        )
    )
    p50, p95 = df.approxQuantile("lag", [0.5, 0.95], 0.0)
    print(
        json.dumps(
            {
                "sent": sent,
                "landed": df.count(),
                "freshness_p50_s": round(p50, 2),
                "freshness_p95_s": round(p95, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
