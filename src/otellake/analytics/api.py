"""The Python API (notebooks, CLI, jobs): run an analysis on an engine, get rows back."""

from __future__ import annotations

import difflib
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
    "exceptions": queries.exceptions,
}
# Analyses that look at every span kind unless the caller narrows them.
ALL_KINDS_BY_DEFAULT = {"exceptions"}


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
    """Run one analysis; an unknown ``service`` is an error that names close matches."""
    if analysis not in ANALYSES:
        raise BadInput(f"unknown analysis {analysis!r}; available: {sorted(ANALYSES)}")
    query = ANALYSES[analysis](span_filter, engine.dialect)
    rows = engine.query(query.sql, query.params, query.tables)
    if not rows and span_filter.service is not None:
        _check_service(span_filter, engine)
    return Result(analysis, engine.name, span_filter.window.iso(), rows)


def _check_service(span_filter: SpanFilter, engine: Engine) -> None:
    query = queries.services(span_filter, engine.dialect)
    known = [r["service_name"] for r in engine.query(query.sql, query.params, query.tables)]
    if known and span_filter.service not in known:
        close = difflib.get_close_matches(span_filter.service or "", known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; services: {known[:10]}"
        raise BadInput(f"unknown service {span_filter.service!r} in this window{hint}")
