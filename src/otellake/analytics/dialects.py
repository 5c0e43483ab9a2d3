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
    # Exact percentiles from each group's sorted values (one sort per group) rather than the
    # engine's percentile aggregate: Spark's ``percentile`` keeps a value->count map per
    # aggregate and per group, four maps of nearly all-distinct durations for `latency`
    # (10M-span lake: 31 s). DuckDB's ``quantile_cont`` is faster than any rewrite.
    sorted_percentiles: bool = False

    def percentile(self, expr: str, fraction: float) -> str:
        """Exact percentile with linear interpolation."""
        if self.name == "duckdb":
            return f"quantile_cont(CAST({expr} AS DOUBLE), {fraction})"
        return f"percentile(CAST({expr} AS DOUBLE), {fraction})"

    def sorted_values(self, expr: str) -> str:
        """Aggregate: the group's non-NULL values of ``expr`` as DOUBLE, in ascending order."""
        value = f"CAST({expr} AS DOUBLE)"
        if self.name == "duckdb":
            return f"list_sort(list({value}) FILTER (WHERE {expr} IS NOT NULL))"
        return f"sort_array(collect_list({value}))"

    def list_size(self, expr: str) -> str:
        return f"len({expr})" if self.name == "duckdb" else f"size({expr})"

    def list_at(self, expr: str, index: str) -> str:
        """The element at the 1-based ``index`` (an integer expression)."""
        if self.name == "duckdb":
            return f"{expr}[CAST({index} AS BIGINT)]"
        return f"element_at({expr}, CAST({index} AS INT))"

    def small_result_hint(self) -> str:
        """Goes right after the SELECT of a small final result that is ORDER BY'd: Spark sorts
        a result in range partitions and samples the input to find their bounds, which runs
        everything below the sort twice (an aggregate over 10M spans, computed twice); one
        partition needs no bounds. Nothing on DuckDB."""
        return "" if self.name == "duckdb" else "/*+ REPARTITION(1) */"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        """A struct of (name, expression) fields; structs compare field by field, in order."""
        if self.name == "duckdb":
            return "struct_pack(" + ", ".join(f"{n} := {e}" for n, e in fields) + ")"
        return "named_struct(" + ", ".join(f"'{n}', {e}" for n, e in fields) + ")"

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
SPARK = Dialect("spark", sorted_percentiles=True)
