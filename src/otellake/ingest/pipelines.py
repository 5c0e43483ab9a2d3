"""Per signal: which topic, which decoder, which tables, and how one batch becomes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from otellake.settings import Signal
from otellake.transform import traces


@dataclass(frozen=True)
class SignalPipeline:
    signal: Signal
    tables: tuple[str, ...]
    # decoded records (kafka columns + d) -> rows per table, ready to append
    build: Callable[[DataFrame, datetime], dict[str, DataFrame]]
    # how many lake rows a decoded record yields (for progress)
    row_count: Callable[[], Column]

    @property
    def query_name(self) -> str:
        return f"ingest_{self.signal}"


def _build_traces(decoded: DataFrame, ingested_at: datetime) -> dict[str, DataFrame]:
    spans = decoded.transform(traces.spans(ingested_at))
    return {"spans": traces.sorted_for_write(spans), "trace_index": traces.trace_index(spans)}


PIPELINES: dict[Signal, SignalPipeline] = {
    "traces": SignalPipeline(
        "traces", ("spans", "trace_index"), _build_traces, lambda: F.size("d.spans")
    ),
}
