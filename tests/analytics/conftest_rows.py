"""A row of any lake table with every column at a neutral value, to override per test row."""

from __future__ import annotations

from typing import Any

from pyspark.sql import types as T

from otellake import schemas

_NEUTRAL: dict[type, Any] = {
    T.StringType: "",
    T.LongType: 0,
    T.IntegerType: 0,
    T.DoubleType: 0.0,
    T.BooleanType: False,
}


def default_row(table: str) -> dict[str, Any]:
    """Dedicated attribute columns are NULL, as for a span without the attribute (or one
    written before the column existed, with the value in the map)."""
    dedicated = {d.column for d in schemas.table(table).dedicated_attributes}
    row: dict[str, Any] = {}
    for f in schemas.table(table).spark_schema().fields:
        if f.name in dedicated:
            row[f.name] = None
        elif isinstance(f.dataType, T.MapType):
            row[f.name] = {}
        elif isinstance(f.dataType, T.ArrayType):
            row[f.name] = []
        else:
            row[f.name] = _NEUTRAL.get(type(f.dataType))
    return row
