"""Sustained ingest: the generator writes spans to Kafka at a steady rate, paced in wall time,
while ingest runs as a service (trigger 1 s, batch size from its own admission control).

A backlog figure (``ingest_spans_per_s_per_core``) says how fast a drain is; this one says
whether ingest keeps up with a live stream: every span lands, the Kafka lag stays bounded, and
the freshness of the spans (the commit time of the Delta version that added a span's file -
the span's end time, as ``benchmark.freshness``) is measured over the whole run.

Each second of the run is one generator run over that second of simulated time (its own seed,
so no two seconds share trace ids), written when the wall clock reaches the end of that second:
a span is never on Kafka before its end time. Every second is generated and encoded before the
clock starts, in a process of its own, and then only sent: generating 20k spans/s took about
0.3 of the two cores from the ingest it measures, a cost of the applications the generator
stands for, which run on machines of their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otellake.benchmark.freshness import in_own_process, live_ingest, wait_until_landed
from otellake.benchmark.ours import stage_seconds
from otellake.generate.kafka_sink import KafkaSink
from otellake.generate.run import GenerateOptions, generate_records, make_encoder
from otellake.generate.shop import Shop, build_shop
from otellake.generate.simulate import Plan
from otellake.settings import Settings, Signal

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass
class SustainedFigures:
    rate: int
    seconds: float
    sent: int
    landed: int
    p50_s: float
    p95_s: float
    max_s: float
    batches: int
    max_kafka_lag_records: int | None
    # Kafka's maxOffsetsBehindLatest (the partition furthest behind, in records) per batch
    # the lag after the next-to-last batch that read records (the last one reads the tail)
    last_kafka_lag_records: int | None
    behind_s: float  # how long the last spans took to land after the generator stopped
    producer_late_max_s: float  # the generator's own delay, included in the freshness


def _produce_paced(settings: Settings, rate: int, seconds: int) -> tuple[int, float]:
    """``rate`` spans per second of wall time for ``seconds`` seconds; returns the spans
    written and how late a second's records were sent at worst (0 if on time)."""
    shop = build_shop()
    started = time.time()
    _second(settings, shop, started, -1, rate)  # how long generating a second takes
    lead = (time.time() - started) * seconds * GENERATION_MARGIN + 5
    start = started + lead
    planned = [_second(settings, shop, start, i, rate) for i in range(seconds)]
    sink = KafkaSink(settings, make_encoder(settings.encoding, shop))
    sent = 0
    late = 0.0
    try:
        for i, (values, spans) in enumerate(planned):
            # pacing the producer to the wall clock, not synchronising with the pipeline
            time.sleep(max(0.0, start + i + 1 - time.time()))
            sink.send_values(values)
            sent += spans
            late = max(late, time.time() - (start + i + 1))
    except BaseException:
        sink.abort()
        raise
    sink.close()
    return sent, late


# the time to generate the whole run, as a multiple of the first second's time times the seconds
GENERATION_MARGIN = 1.3


def _second(
    settings: Settings, shop: Shop, start: float, i: int, rate: int
) -> tuple[list[tuple[Signal, bytes]], int]:
    """The records of second ``i`` of a run starting at ``start`` (epoch seconds), and its
    spans."""
    plan = Plan(start_ns=int((start + i) * 1e9), duration_ns=1_000_000_000, spans=rate)
    run = GenerateOptions(plan=plan, encoding=settings.encoding, seed=i + 1, incidents=False)
    values, result = generate_records(run, shop)
    return values, result.spans


def measure(
    spark: SparkSession, settings: Settings, rate: int, seconds: int, emit: Any
) -> SustainedFigures:
    import numpy as np

    # the progress file is the home's: an earlier part's batches come before this run's
    earlier = len(stage_seconds(settings, "ingest_traces"))
    with live_ingest(spark, settings, emit, "sustained") as failure:
        sent, producer_late = in_own_process(_produce_paced, settings, rate, seconds)
        produced_until = time.monotonic()
        landed = wait_until_landed(settings, sent, failure, timeout_s=600)
        behind = time.monotonic() - produced_until
    batches = stage_seconds(settings, "ingest_traces")[earlier:]
    read_while_producing = [b for b in batches if b.get("records")]
    kafka_lags = [b["kafka_lag"] for b in batches if b.get("kafka_lag") is not None]
    values = np.array(landed) if landed else np.array([float("nan")])
    return SustainedFigures(
        rate=rate,
        seconds=seconds,
        sent=sent,
        landed=len(landed),
        p50_s=float(np.percentile(values, 50)),
        p95_s=float(np.percentile(values, 95)),
        max_s=float(values.max()),
        batches=len(batches),
        max_kafka_lag_records=max(kafka_lags) if kafka_lags else None,
        last_kafka_lag_records=(
            read_while_producing[-2].get("kafka_lag") if len(read_while_producing) > 1 else None
        ),
        behind_s=round(behind, 1),
        producer_late_max_s=round(producer_late, 2),
    )
