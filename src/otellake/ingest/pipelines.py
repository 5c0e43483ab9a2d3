"""Per signal: how one decoded batch becomes the rows of each table it writes.

Which tables those are, and where their rows come from, is read from the definitions: the
signal's (``otellake.signals``) and each table's schema file (``schemas/tables/*.json``,
``role`` and ``items``). A new metric type needs no edit here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from otellake import schemas
from otellake.errors import OtelLakeError
from otellake.settings import Signal
from otellake.signals import SIGNALS, SignalDef
from otellake.transform import logs, metrics, traces

Rows = Callable[[DataFrame, datetime], DataFrame]


@dataclass(frozen=True)
class Output:
    """One table a signal writes: how to build its rows from a decoded batch."""

    table: str
    rows: Rows
    # items of a decoded record that feed this table; the table is written when the batch's
    # total is > 0 (so an empty metric type costs no Delta commit)
    items: Callable[[], Column]
    # counted in the progress line's "rows" (trace_index is derived from spans, so it is not)
    primary: bool = True


@dataclass(frozen=True)
class SignalPipeline:
    definition: SignalDef
    outputs: tuple[Output, ...]

    @property
    def signal(self) -> Signal:
        return self.definition.name

    @property
    def query_name(self) -> str:
        return self.definition.query_name

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


def _metric_points(table: str) -> Rows:
    def rows(decoded: DataFrame, ingested_at: datetime) -> DataFrame:
        return decoded.transform(metrics.points(table, ingested_at)).sortWithinPartitions(
            "date", "service_name", "metric_name", "timestamp"
        )

    return rows


# the rows of a table, by its role (a metric table's by its type); derived tables by name
_BY_ROLE: dict[schemas.Role, Rows] = {"span": _spans, "log": _logs}
_DERIVED: dict[str, Rows] = {"trace_index": _trace_index}


def _rows(spec: schemas.TableSpec) -> Rows:
    if spec.role == "metric":
        return _metric_points(spec.name)
    if spec.role in _BY_ROLE:
        return _BY_ROLE[spec.role]
    if spec.name in _DERIVED:
        return _DERIVED[spec.name]
    raise OtelLakeError(
        f"schemas/tables/{spec.name}.json: signal {spec.signal!r} writes it, but "
        f"ingest/pipelines.py has no rows for role {spec.role!r}"
    )


def _output(table: str) -> Output:
    spec = schemas.table(table)
    items = f"d.{spec.items}"
    return Output(table, _rows(spec), lambda: F.size(items), primary=spec.role != "derived")


PIPELINES: dict[Signal, SignalPipeline] = {
    name: SignalPipeline(definition, tuple(_output(t) for t in definition.outputs))
    for name, definition in SIGNALS.items()
}
