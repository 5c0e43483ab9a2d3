"""The lake's tables, each defined once in ``schemas/tables/<table>.json``.

A file holds the table's Spark StructType as JSON (the form ``StructType.json()`` writes; the
files double as golden files, so a schema change is a diff), its partition and statistics
columns, and what code needs to know about it:

- ``role``: ``span``, ``log`` or ``metric`` (one row per decoded item of a signal),
  ``derived`` (computed from other rows) or ``internal`` (the lake's own bookkeeping);
- ``signal``: the ingest query that writes it (null: another command does);
- ``items``: the decoder's array its rows come from (``d.<items>``); for a metric table
  this is its metric type, and ``otlp_metric_data`` names the OTLP ``Metric.data`` field
  whose points it holds;
- ``derived_columns``: the columns the Python transform computes; every other column is
  taken from the decoded item by name (a test checks name and type against the decoder);
- ``dedup_key``: what makes two rows the same item delivered twice (backfill and replay
  merge on it); plain names are columns, the rest expressions over the alias ``{a}``;
  null when the table is not merged by key.
- ``dedicated_attributes`` (spans): attribute keys stored in a typed column of their own
  instead of in their map (``span_attributes`` or ``resource_attributes``), as Tempo's
  dedicated columns; the decoder fills them, readers go through
  ``otellake.analytics.attributes``.

Code asks this module for tables ("the metric tables", "the tables with ``service_name``")
and never lists them itself; ``tests/test_schemas.py`` fails on a copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from otellake.errors import BadInput
from otellake.settings import Signal, find_project_root

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

Role = Literal["span", "log", "metric", "derived", "internal"]
ROLES: tuple[Role, ...] = get_args(Role)


def schemas_dir() -> Path:
    """``schemas/`` of the checkout, or the copy packaged into the wheel."""
    root = find_project_root()
    if root is not None:
        return root / "schemas"
    return Path(__file__).resolve().parent / "_schemas"


@dataclass(frozen=True)
class DedicatedAttribute:
    """An attribute key with a column of its own: its value is in ``column`` and not in
    ``map`` (values that do not fit an INTEGER column's type stay in the map)."""

    column: str
    key: str
    map: Literal["span_attributes", "resource_attributes"]


@dataclass(frozen=True)
class TableSpec:
    name: str
    role: Role
    signal: Signal | None
    items: str | None
    otlp_metric_data: str | None
    derived_columns: tuple[str, ...]
    dedup_key: tuple[str, ...] | None
    partition_by: tuple[str, ...]
    # Columns Delta keeps min/max statistics for (file skipping). Stats on every column cost
    # ~40% of the write time of spans, so each table names the ones its queries filter on.
    stats_columns: tuple[str, ...]
    schema_json: dict[str, Any]
    # Column paths whose values are (nearly) unique per row, written without Parquet's
    # dictionary: it would fill up and fall back to plain encoding in every file anyway,
    # after hashing each value (see ``plain_encoded_columns``).
    plain_columns: tuple[str, ...] = ()
    # Column paths a lookup asks for one value of (a trace id) among many distinct ones: a
    # Parquet bloom filter lets a reader skip row groups whose min/max span every value
    # (see ``bloom_filtered_columns``).
    bloom_columns: tuple[str, ...] = ()
    dedicated_attributes: tuple[DedicatedAttribute, ...] = ()
    # The column `maintain` clusters the table's files by (Z-order), so a lookup by it skips
    # files by their min/max statistics; None: compaction only.
    cluster_by: str | None = None

    @property
    def columns(self) -> list[str]:
        return [f["name"] for f in self.schema_json["fields"]]

    @property
    def metric_type(self) -> str | None:
        """A metric table's type (its decoder array: ``gauge``, ``exp_histogram``, ...)."""
        return self.items if self.role == "metric" else None

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
    if doc["role"] not in ROLES:
        raise ValueError(f"{path}: role {doc['role']!r}; expected one of {list(ROLES)}")
    key = doc["dedup_key"]
    return TableSpec(
        name=doc["table"],
        role=doc["role"],
        signal=doc["signal"],
        items=doc["items"],
        otlp_metric_data=doc.get("otlp_metric_data"),
        derived_columns=tuple(doc["derived_columns"] or ()),
        dedup_key=None if key is None else tuple(key),
        partition_by=tuple(doc["partition_by"]),
        stats_columns=tuple(doc["stats_columns"]),
        schema_json=doc["schema"],
        plain_columns=tuple(doc.get("plain_columns", ())),
        bloom_columns=tuple(doc.get("bloom_columns", ())),
        dedicated_attributes=tuple(
            DedicatedAttribute(**d) for d in doc.get("dedicated_attributes", ())
        ),
        cluster_by=doc.get("cluster_by"),
    )


def tables(
    *, role: Role | None = None, signal: Signal | None = None, column: str | None = None
) -> tuple[str, ...]:
    """The tables (by name) with this role, written by this signal's ingest, having this
    column; each filter applies when given."""
    return tuple(
        name
        for name in table_names()
        if (role is None or table(name).role == role)
        and (signal is None or table(name).signal == signal)
        and (column is None or column in table(name).columns)
    )


def metric_tables() -> tuple[str, ...]:
    """One table per metric type."""
    return tables(role="metric")


def metric_table(metric_type: str) -> str:
    """The table of a metric type (``gauge``, ``sum``, ``histogram``, ``exp_histogram``, ...)."""
    by_type = {str(table(t).metric_type): t for t in metric_tables()}
    if metric_type not in by_type:
        raise BadInput(f"unknown metric type {metric_type!r}; expected one of {sorted(by_type)}")
    return by_type[metric_type]


def otlp_metric_tables() -> dict[str, str]:
    """OTLP ``Metric.data`` field (``gauge``, ``exponential_histogram``, ...) -> its table."""
    return {str(table(t).otlp_metric_data): t for t in metric_tables()}


def dedup_key(name: str) -> tuple[str, ...]:
    """The table's dedup key (see the module's docstring); an error for a table without one."""
    key = table(name).dedup_key
    if key is None:
        keyed = [t for t in table_names() if table(t).dedup_key is not None]
        raise BadInput(f"table {name!r} has no dedup key; tables with one: {keyed}")
    return key


def column_type(name: str, column: str) -> str:
    """A column's Spark type name (``string``, ``integer``, ...)."""
    for field in table(name).schema_json["fields"]:
        if field["name"] == column:
            return str(field["type"])
    raise BadInput(f"table {name!r} has no column {column!r}")


def role(name: str) -> Role:
    return table(name).role


def plain_encoded_columns() -> tuple[str, ...]:
    """The column paths written without a dictionary, in every table: Parquet's setting
    (``parquet.enable.dictionary#<path>``) names a path, not a table, so a path is plain in
    each table that has it (``tests/test_schemas.py`` checks the files agree)."""
    return tuple(sorted({c for name in table_names() for c in table(name).plain_columns}))


def bloom_filtered_columns() -> tuple[str, ...]:
    """The column paths written with a Parquet bloom filter, in every table: like the
    dictionary switch, Parquet's setting (``parquet.bloom.filter.enabled#<path>``) names a
    path, so a path has the filter in each table that has it."""
    return tuple(sorted({c for name in table_names() for c in table(name).bloom_columns}))


def contract_version() -> int:
    """The schema contract's version (``schemas/VERSION``); additive changes bump it."""
    return int((schemas_dir() / "VERSION").read_text().strip())
