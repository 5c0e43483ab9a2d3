"""Our ingest against the alternatives, on the same generated spans (see baselines.py).

Ratios are ours ÷ theirs in spans per second per core: each Spark path gets a driver JVM of its own
with the same settings (the same cores and heap); the Python consumer uses one core.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otellake.benchmark import baselines, results
from otellake.benchmark.ours import IngestFigures
from otellake.generate.run import GenerateOptions
from otellake.kafka_clients import ensure_topics
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def compare(
    session: Callable[[], SparkSession],
    settings: Settings,
    measured: IngestFigures,
    generated: GenerateOptions,
    detail: dict[str, Any],
    emit: Callable[[str], None],
) -> list[results.Figure]:
    out = Path(settings.home) / "baselines"
    tag = uuid.uuid4().hex[:8]
    json_topic, flat_topic = f"bench_otlp_json_{tag}", f"bench_flat_json_{tag}"
    ensure_topics(settings, [json_topic, flat_topic], partitions=3)
    runs: dict[str, baselines.BaselineRun] = {}

    emit("alternative a: the Collector's otlp_json, Spark from_json with the nested schema")
    baselines.produce_otlp_json(settings, json_topic, generated)
    runs["otlp_json"] = baselines.otlp_json_from_json(session(), settings, json_topic, out / "a")
    emit("alternative b: a plain Python consumer (kafka-python, protobuf, pyarrow)")
    runs["python_consumer"] = baselines.python_consumer(settings, settings.topic_spans, out / "b")
    emit("alternative c: one flat JSON record per span, Spark from_json")
    baselines.produce_flat_json(settings, flat_topic, generated)
    runs["seed_flat_json"] = baselines.flat_json_from_json(
        session(), settings, flat_topic, out / "c"
    )

    detail["baselines"] = {
        name: {
            "rows": run.rows,
            "seconds": round(run.seconds, 2),
            "cores": run.cores,
            "spans_per_s_per_core": round(run.spans_per_s_per_core),
        }
        for name, run in runs.items()
    }
    figures = []
    for name, run in runs.items():
        if run.rows != measured.spans:
            raise baselines.BaselineError(
                f"{name} wrote {run.rows} rows of the {measured.spans} spans on Kafka"
            )
        figures.append(
            results.figure(
                f"ratio_vs_{name}",
                measured.per_core / run.spans_per_s_per_core,
                baseline=round(run.spans_per_s_per_core),
            )
        )
    return figures
