"""The lake's table schemas: read from ``schemas/tables/<table>.json``, the one source of truth.

Each file holds the table name, its partition columns and the Spark StructType as JSON (the
form ``StructType.json()`` writes). They double as golden files: a schema change is a diff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otellake.errors import BadInput
from otellake.settings import find_project_root

if TYPE_CHECKING:
    from pyspark.sql.types import StructType


def schemas_dir() -> Path:
    """``schemas/`` of the checkout, or the copy packaged into the wheel."""
    root = find_project_root()
    if root is not None:
        return root / "schemas"
    return Path(__file__).resolve().parent / "_schemas"


@dataclass(frozen=True)
class TableSpec:
    name: str
    partition_by: tuple[str, ...]
    # Columns Delta keeps min/max statistics for (file skipping). Stats on every column cost
    # ~40% of the write time of spans, so each table names the ones its queries filter on.
    stats_columns: tuple[str, ...]
    schema_json: dict[str, Any]

    @property
    def columns(self) -> list[str]:
        return [f["name"] for f in self.schema_json["fields"]]

    def spark_schema(self) -> StructType:
        from pyspark.sql.types import StructType

        return StructType.fromJson(self.schema_json)


def table_names() -> list[str]:
    return sorted(p.stem for p in (schemas_dir() / "tables").glob("*.json"))


@cache
def table(name: str) -> TableSpec:
    path = schemas_dir() / "tables" / f"{name}.json"
    if not path.is_file():
        raise BadInput(f"unknown table {name!r}; expected one of {table_names()}")
    doc = json.loads(path.read_text())
    return TableSpec(
        doc["table"], tuple(doc["partition_by"]), tuple(doc["stats_columns"]), doc["schema"]
    )


def contract_version() -> int:
    """The schema contract's version (``schemas/VERSION``); additive changes bump it."""
    return int((schemas_dir() / "VERSION").read_text().strip())
