"""The few places DuckDB and Spark SQL differ, so each analysis is written once.

Queries use ``:name`` placeholders; values are always bound parameters (DuckDB ``$name``,
Spark ``args=``), never pasted into the SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r":([a-z_][a-z0-9_]*)")


@dataclass(frozen=True)
class Dialect:
    name: str

    def percentile(self, expr: str, fraction: float) -> str:
        """Exact percentile with linear interpolation."""
        if self.name == "duckdb":
            return f"quantile_cont(CAST({expr} AS DOUBLE), {fraction})"
        return f"percentile(CAST({expr} AS DOUBLE), {fraction})"

    def ts_from_micros(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"make_timestamp(CAST({expr} AS BIGINT))"
        return f"timestamp_micros(CAST({expr} AS BIGINT))"

    def int_div(self, left: str, right: str) -> str:
        return f"({left}) // ({right})" if self.name == "duckdb" else f"({left}) DIV ({right})"

    def explode(self, expr: str) -> str:
        """One row per array element (used in a select list)."""
        return f"unnest({expr})" if self.name == "duckdb" else f"explode({expr})"

    def sorted_distinct_join(self, expr: str) -> str:
        """Aggregate: the distinct values, sorted, joined with ','."""
        if self.name == "duckdb":
            return f"string_agg(DISTINCT {expr}, ',' ORDER BY {expr})"
        return f"array_join(array_sort(collect_set({expr})), ',')"

    def group_ref(self, n: int) -> str:
        """How a regexp replacement refers to capture group ``n``."""
        return f"\\{n}" if self.name == "duckdb" else f"${n}"

    def regexp_replace_all(self, expr: str, pattern: str, replacement: str) -> str:
        if self.name == "duckdb":
            return f"regexp_replace({expr}, {pattern}, {replacement}, 'g')"
        return f"regexp_replace({expr}, {pattern}, {replacement})"

    def placeholders(self, sql: str) -> str:
        return _PARAM.sub(r"$\1", sql) if self.name == "duckdb" else sql


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
