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
    row: dict[str, Any] = {}
    for f in schemas.table(table).spark_schema().fields:
        if isinstance(f.dataType, T.MapType):
            row[f.name] = {}
        elif isinstance(f.dataType, T.ArrayType):
            row[f.name] = []
        else:
            row[f.name] = _NEUTRAL.get(type(f.dataType))
    return row
