"""Per signal: which topic, which decoder, which tables, and how one batch becomes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from otellake.settings import Signal
from otellake.transform import logs, metrics, traces


@dataclass(frozen=True)
class Output:
    """One table a signal writes: how to build its rows from a decoded batch."""

    table: str
    rows: Callable[[DataFrame, datetime], DataFrame]
    # items of a decoded record that feed this table; the table is written when the batch's
    # total is > 0 (so an empty metric type costs no Delta commit)
    items: Callable[[], Column]
    # counted in the progress line's "rows" (trace_index is derived from spans, so it is not)
    primary: bool = True


@dataclass(frozen=True)
class SignalPipeline:
    signal: Signal
    outputs: tuple[Output, ...]

    @property
    def query_name(self) -> str:
        return f"ingest_{self.signal}"

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(o.table for o in self.outputs)


def _spans(decoded: DataFrame, ingested_at: datetime) -> DataFrame:
    return traces.sorted_for_write(decoded.transform(traces.spans(ingested_at)))


def _trace_index(decoded: DataFrame, ingested_at: datetime) -> DataFrame:
    return traces.trace_index(decoded.transform(traces.spans(ingested_at)))


def _logs(decoded: DataFrame, ingested_at: datetime) -> DataFrame:
    return decoded.transform(logs.logs(ingested_at)).sortWithinPartitions(
        "date", "service_name", "timestamp"
    )


def _metric_output(field: str) -> Output:
    def rows(decoded: DataFrame, ingested_at: datetime) -> DataFrame:
        return decoded.transform(metrics.points(field, ingested_at)).sortWithinPartitions(
            "date", "service_name", "metric_name", "timestamp"
        )

    return Output(metrics.METRIC_TABLES[field], rows, lambda: F.size(f"d.{field}"))


PIPELINES: dict[Signal, SignalPipeline] = {
    "traces": SignalPipeline(
        "traces",
        (
            Output("spans", _spans, lambda: F.size("d.spans")),
            Output("trace_index", _trace_index, lambda: F.size("d.spans"), primary=False),
        ),
    ),
    "logs": SignalPipeline("logs", (Output("logs", _logs, lambda: F.size("d.logs")),)),
    "metrics": SignalPipeline(
        "metrics", tuple(_metric_output(field) for field in metrics.METRIC_TABLES)
    ),
}
