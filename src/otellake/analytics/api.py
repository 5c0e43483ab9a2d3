"""The Python API (notebooks, CLI, jobs): run an analysis on an engine, get rows back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from otellake.analytics import queries
from otellake.analytics.dialects import Dialect
from otellake.analytics.engines import Engine
from otellake.analytics.queries import Query, SpanFilter
from otellake.errors import BadInput

ANALYSES: dict[str, Callable[[SpanFilter, Dialect], Query]] = {
    "errors": queries.errors,
    "latency": queries.latency,
}


@dataclass(frozen=True)
class Result:
    analysis: str
    engine: str
    window: dict[str, str]
    rows: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "analysis": self.analysis,
            "engine": self.engine,
            "window": self.window,
            "rows": self.rows,
        }


def run(analysis: str, span_filter: SpanFilter, engine: Engine) -> Result:
    if analysis not in ANALYSES:
        raise BadInput(f"unknown analysis {analysis!r}; expected one of {sorted(ANALYSES)}")
    query = ANALYSES[analysis](span_filter, engine.dialect)
    rows = engine.query(query.sql, query.params, query.tables)
    return Result(analysis, engine.name, span_filter.window.iso(), rows)
