"""What the Parquet footers of a table's files say, so a query can leave out what cannot hold.

Every Parquet writer (Spark's, delta-rs) keeps per row group and column a min, a max and a null
count, for the key column of a MAP too. The engines use them for plain comparisons, but not for
``map[key] = value`` (the map is read whole, row by row) nor for ``column IS NULL`` inside an OR
with other columns. Yet that is how an attribute is read (``attributes.py``): ``--attr
http.route=/cart`` is "the span's ``http_route`` column, or the span map when that column is
NULL (spans written before it existed), or the resource map" and the error rule reads the map
when ``http_response_status_code`` is NULL. On a lake where no file can hold ``http.route`` in
its resource map (the key is outside every row group's key range) and ``http_route`` has no
NULL, the predicate is the column's alone, which both engines push into the scan (10M-span
lake: the map reads were most of a search).

:class:`Facts` answers for a set of files; :data:`UNKNOWN` (no footers read, e.g. a lake on
object storage) answers "may" to everything, so nothing is left out. The engines read the
footers of the files of the days their query reads (``Engine.snapshot``, which also makes the
queries inside it read that very snapshot); a footer is read once per process (~3 ms each).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from otellake import schemas

MAPS = ("span_attributes", "resource_attributes")
_DAY = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class FileFacts:
    """One data file: the columns that may hold NULL, and each map's key range per row group
    (None when a row group has no usable statistics for it)."""

    nullable: frozenset[str]
    key_ranges: tuple[tuple[str, tuple[tuple[str, str] | None, ...]], ...]

    def may_hold(self, attribute_map: str, key: str) -> bool:
        for name, ranges in self.key_ranges:
            if name == attribute_map:
                return any(r is None or r[0] <= key <= r[1] for r in ranges)
        return True  # no such leaf under that name (e.g. column mapping): may


@dataclass(frozen=True)
class Facts:
    files: tuple[FileFacts, ...] | None  # None: unknown

    def may_be_null(self, column: str) -> bool:
        return self.files is None or any(column in f.nullable for f in self.files)

    def may_hold(self, attribute_map: str, key: str) -> bool:
        return self.files is None or any(f.may_hold(attribute_map, key) for f in self.files)


UNKNOWN = Facts(None)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


@lru_cache(maxsize=65_536)
def file_facts(path: str) -> FileFacts:
    """The footer of the local Parquet file ``path`` (a Delta table never rewrites a data
    file's path, so the answer is kept for the process)."""
    import pyarrow.parquet as pq

    columns = {d.column for d in schemas.table("spans").dedicated_attributes}
    meta = pq.read_metadata(path)
    present: set[str] = set()
    nullable: set[str] = set()
    ranges: dict[str, list[tuple[str, str] | None]] = {}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            name = chunk.path_in_schema
            stats = chunk.statistics if chunk.is_stats_set else None
            parts = name.split(".")
            if len(parts) == 3 and parts[0] in MAPS and parts[2] == "key":
                # the repeated group is `key_value` (Spark) or `entries` (some Arrow writers)
                held = ranges.setdefault(parts[0], [])
                if stats is not None and stats.has_min_max:
                    low, high = _text(stats.min), _text(stats.max)
                    held.append(None if low is None or high is None else (low, high))
                elif not (stats is not None and stats.has_null_count
                          and stats.null_count == chunk.num_values):  # fmt: skip
                    held.append(None)  # no statistics: may hold anything
                # else every map of the row group is empty: no key at all
            elif name in columns:
                present.add(name)
                if stats is None or not stats.has_null_count or stats.null_count > 0:
                    nullable.add(name)
    if meta.num_row_groups > 0:
        nullable |= columns - present  # not in this file: it reads as NULL
    else:
        ranges = {m: [] for m in MAPS}  # no rows: nothing can match
    return FileFacts(frozenset(nullable), tuple((m, tuple(r)) for m, r in ranges.items()))


def day_of(path: str) -> date | None:
    """The ``date`` partition of a data file, from its directory (None when not found)."""
    found = _DAY.search(path)
    return date.fromisoformat(found.group(1)) if found else None


def facts(paths: Iterable[str], first_day: date, last_day: date) -> Facts:
    """Facts over the local data files ``paths`` of the days [first_day, last_day] (a file
    whose day cannot be told is counted in)."""
    chosen = []
    for path in paths:
        day = day_of(path)
        if day is None or first_day <= day <= last_day:
            chosen.append(file_facts(path))
    return Facts(tuple(chosen))
