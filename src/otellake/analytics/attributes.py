"""Reading a span's attribute, wherever the lake keeps it.

The keys in ``schemas/tables/spans.json`` ``dedicated_attributes`` (``http.route``,
``host.name``, ...) are written to typed columns of their own and not to the maps; spans
written before those columns existed (schema version 1) have them in the maps and NULL in the
columns. Every reader goes through this module, so ``--attr http.route=/cart`` finds both.

The value of a key is ``coalesce(column, map[key])``: the column when it is set, else the map.
The INTEGER column (``http.response.status_code``) holds only values whose rendering is the
canonical decimal of a 32-bit integer; any other value of that key stays in the map, so
comparing renderings (``'503'``) gives the answer a map of version 1 gave.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from otellake import schemas
from otellake.analytics.footers import UNKNOWN, Facts

AttributeMap = Literal["span_attributes", "resource_attributes"]
MAPS: tuple[AttributeMap, ...] = ("span_attributes", "resource_attributes")
_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")
_PARAM = re.compile(r":([a-z_][a-z0-9_]*)")


@cache
def _dedicated() -> dict[tuple[str, str], schemas.DedicatedAttribute]:
    return {(d.map, d.key): d for d in schemas.table("spans").dedicated_attributes}


def dedicated(key: str, attribute_map: AttributeMap) -> schemas.DedicatedAttribute | None:
    """The dedicated column of ``key`` in ``attribute_map``, if it has one."""
    return _dedicated().get((attribute_map, key))


def _column_type(column: schemas.DedicatedAttribute) -> str:
    return schemas.column_type("spans", column.column)


def _quoted(key: str) -> str:
    return "'" + key.replace("'", "''") + "'"


def value_sql(key: str, attribute_map: AttributeMap, key_sql: str | None = None) -> str:
    """SQL (DuckDB and Spark alike) for the attribute's value as a string, NULL when absent.

    ``key`` must be a literal key the caller knows; ``key_sql`` is how the map lookup spells
    it (a bound parameter such as ``:attr_key_0``), by default a quoted literal.
    """
    in_map = f"{attribute_map}[{key_sql if key_sql is not None else _quoted(key)}]"
    column = dedicated(key, attribute_map)
    if column is None:
        return in_map
    as_string = column.column
    if _column_type(column) != "string":
        as_string = f"CAST({column.column} AS STRING)"
    return f"coalesce({as_string}, {in_map})"


def int_value_sql(
    key: str,
    attribute_map: AttributeMap = "span_attributes",
    fallback: tuple[str, ...] = (),
    facts: Facts = UNKNOWN,
) -> str:
    """SQL for an integer attribute (``http.response.status_code``): the INTEGER column, else
    the map's value read as an integer (NULL when it is not one).

    ``fallback`` keys (``http.status_code``, the legacy name) are read when ``key`` is absent;
    a present ``key`` that is not an integer gives NULL, not the fallback's value. ``facts``
    (the footers of the files the query reads) leave out the map when the column has no NULL
    there, and the keys no file's map can hold.
    """
    column = dedicated(key, attribute_map)
    if column is None or _column_type(column) != "integer":
        strings = [value_sql(k, attribute_map) for k in (key, *fallback)]
        return f"TRY_CAST({_coalesce(strings)} AS INT)"
    if not facts.may_be_null(column.column):
        return column.column
    # the column holds every integer value the key has; the map only the values that are not
    strings = [f"{attribute_map}[{_quoted(key)}]"] + [value_sql(k, attribute_map) for k in fallback]
    keys = [k for k in (key, *fallback) if facts.may_hold(attribute_map, k)]
    if not keys:
        return column.column
    if len(keys) < len(strings):
        strings = [s for k, s in zip((key, *fallback), strings, strict=True) if k in keys]
    return f"coalesce({column.column}, TRY_CAST({_coalesce(strings)} AS INT))"


def _coalesce(exprs: list[str]) -> str:
    return exprs[0] if len(exprs) == 1 else f"coalesce({', '.join(exprs)})"


def canonical_int32(value: str) -> int | None:
    """``value`` as an int when it is the canonical decimal rendering of a 32-bit integer (what
    an INTEGER dedicated column holds; any other value of its key stays in the map)."""
    if not _CANONICAL_INT.fullmatch(value):
        return None
    number = int(value)
    return number if -(2**31) <= number < 2**31 else None


def equals_sql(
    key: str,
    value: str,
    attribute_map: AttributeMap,
    params: dict[str, Any],
    name: str,
    facts: Facts = UNKNOWN,
) -> str | None:
    """SQL that is true when the attribute's value, rendered as in the map, equals ``value``:
    ``coalesce(column, map[key]) = value``, written so that the column alone decides when it
    is set (the map is not looked up) and an INTEGER column is compared as an integer.

    Key and value are bound parameters (``:<name>_key``, ``:<name>_value``, and for an
    INTEGER column ``:<name>_int``); only the column's name, known in Python, is in the text.
    None when ``facts`` (the footers of the files the query reads) say no span there can
    match: the map part is left out where no file's map can hold the key, or where the column
    never is NULL.
    """
    in_map: str | None = f"{attribute_map}[:{name}_key] = :{name}_value"
    if not facts.may_hold(attribute_map, key):
        in_map = None
    column = dedicated(key, attribute_map)
    in_column: str | None = None
    legacy: str | None = None
    number: int | None = None
    if column is None:
        legacy = in_map
    else:
        in_column = f"{column.column} = :{name}_value"
        if _column_type(column) == "integer":
            number = canonical_int32(value)
            in_column = None if number is None else f"{column.column} = :{name}_int"
        if in_map is not None and facts.may_be_null(column.column):
            legacy = f"({column.column} IS NULL AND {in_map})"
    parts = [p for p in (in_column, legacy) if p is not None]
    if not parts:
        return None
    sql = parts[0] if len(parts) == 1 else f"({parts[0]} OR {parts[1]})"
    used = set(_PARAM.findall(sql))
    for suffix, bound in (("key", key), ("value", value), ("int", number)):
        if f"{name}_{suffix}" in used:
            params[f"{name}_{suffix}"] = bound
    return sql


def any_map_equals_sql(
    key: str, value: str, params: dict[str, Any], name: str, facts: Facts = UNKNOWN
) -> str:
    """Tempo's ``.key = value``: a span attribute, or a resource attribute of the span."""
    parts = [equals_sql(key, value, m, params, name, facts) for m in MAPS]
    kept = [p for p in parts if p is not None]
    return "(" + (" OR ".join(kept) if kept else "false") + ")"
