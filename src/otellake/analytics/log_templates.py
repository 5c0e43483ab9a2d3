"""ERROR+ log bodies grouped by template; one masking definition that both engines run.

The masks are applied in this order, each a regular expression that means the same in RE2
(DuckDB) and java.util.regex (Spark): only ASCII classes, no ``\\b``, no look-around, no
backslashes (so the SQL text never depends on a dialect's string escapes). Patterns and
replacements are bound parameters.

1. quoted strings: ``"..."``, and ``'...'`` when the quote does not follow a letter or digit
   (so the apostrophe in "can't" is not a quote) → ``<str>``
2. UUIDs (8-4-4-4-12 hex) → ``<uuid>``
3. hex ids: ``0x...``, or a run of 8 or more hex digits (long decimal numbers included) → ``<hex>``
4. numbers: digits with an optional fraction → ``<num>``
"""

from __future__ import annotations

from typing import Any

from otellake.analytics.dialects import Dialect
from otellake.analytics.queries import Query, SpanFilter, timestamp_where

HEX = "[0-9a-fA-F]"
# (pattern, replacement with group 1 written as {g1})
MASKS: tuple[tuple[str, str], ...] = (
    ('"[^"]*"', "<str>"),
    ("(^|[^A-Za-z0-9])'[^']*'", "{g1}<str>"),
    (f"{HEX}{{8}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{12}}", "<uuid>"),
    (f"0[xX]{HEX}+|{HEX}{{8,}}", "<hex>"),
    ("[0-9]+([.][0-9]+)?", "<num>"),
)
ERROR_SEVERITY = 17  # OTel SeverityNumber ERROR


def template_expr(expr: str, d: Dialect, params: dict[str, Any]) -> str:
    """SQL that masks ``expr`` with every mask, in order."""
    for i, (pattern, replacement) in enumerate(MASKS):
        params[f"mask_pattern_{i}"] = pattern
        params[f"mask_replacement_{i}"] = replacement.format(g1=d.group_ref(1))
        expr = d.regexp_replace_all(expr, f":mask_pattern_{i}", f":mask_replacement_{i}")
    return expr


def log_errors(f: SpanFilter, d: Dialect) -> Query:
    params: dict[str, Any] = {"min_severity": ERROR_SEVERITY}
    where = timestamp_where(f, params) + " AND severity_number >= :min_severity"
    sql = f"""
        SELECT {d.small_result_hint()} template, count(*) AS count,
               {d.sorted_distinct_join("service_name")} AS services,
               min(body) AS sample_body, coalesce(min(nullif(trace_id, '')), '') AS sample_trace_id,
               min(timestamp) AS first_seen, max(timestamp) AS last_seen
        FROM (SELECT service_name, body, trace_id, timestamp,
                     {template_expr("body", d, params)} AS template
              FROM logs WHERE {where}) x
        GROUP BY template
        ORDER BY count DESC, template"""
    return Query(sql, params, ["logs"])
