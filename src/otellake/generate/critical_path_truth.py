"""The critical path of simulated requests, walked literally, for the generator's truth.

This is the walk as the contract states it (``docs/contract.md``, "Critical path", Jaeger UI's
algorithm), written independently of the analysis's SQL (which reaches the same sections
through sibling pointers): clip each child to its clipped parent, drop what falls wholly
outside; from a span's end, step back over its children from the one that ends last at or
before the current point (ties: smallest span_id), giving the span the gaps. The truth keeps
each request's sections and aggregates them as ``analyze critical-path`` does.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, NamedTuple


class TreeSpan(NamedTuple):
    """One span of a request's trace: ids compare like the lake's lowercase hex ids. (A named
    tuple: the generator makes one per simulated span.)"""

    span_id: str
    parent_id: str  # '' for a root
    start: int
    end: int
    key: Hashable  # what the span's time is credited to, e.g. (service, span name)


def clip_tree(spans: Sequence[TreeSpan], root: TreeSpan) -> dict[str, tuple[int, int]]:
    """Clipped interval of every span reached from ``root``; dropped spans are absent."""
    children: dict[str, list[TreeSpan]] = {}
    for span in spans:
        if span.parent_id:
            children.setdefault(span.parent_id, []).append(span)
    clipped = {root.span_id: (root.start, root.end)}
    stack = [root.span_id]
    while stack:  # iterative: deep traces must not hit Python's recursion limit
        parent = stack.pop()
        lo, hi = clipped[parent]
        for child in children.get(parent, ()):
            start, end = max(child.start, lo), min(child.end, hi)
            if end > start and child.span_id not in clipped:
                clipped[child.span_id] = (start, end)
                stack.append(child.span_id)
    return clipped


def own_times(spans: Sequence[TreeSpan], root: TreeSpan) -> dict[str, int]:
    """Nanoseconds each span owns on the critical path of the request ``root``.

    The values add up to the root's duration.
    """
    clipped = clip_tree(spans, root)
    kids: dict[str, list[tuple[int, str, int]]] = {}  # parent -> (end, span_id, start)
    for span in spans:
        if span.span_id in clipped and span.span_id != root.span_id:
            start, end = clipped[span.span_id]
            kids.setdefault(span.parent_id, []).append((end, span.span_id, start))
    for entries in kids.values():
        entries.sort(key=lambda e: (-e[0], e[1]))  # ends last first; ties: smallest span_id
    own: dict[str, int] = {}
    # (span, current point, index of the first child not yet passed)
    stack = [(root.span_id, clipped[root.span_id][1], 0)]
    while stack:
        span_id, point, i = stack.pop()
        entries = kids.get(span_id, [])
        while i < len(entries) and entries[i][0] > point:
            i += 1  # ends after the point: overlapped by a child already on the path
        if i == len(entries):
            own[span_id] = own.get(span_id, 0) + point - clipped[span_id][0]
            continue
        end, child, start = entries[i]
        own[span_id] = own.get(span_id, 0) + point - end
        stack.append((span_id, start, i + 1))
        stack.append((child, end, 0))
    return own


def threshold_of(ordered: list[float], fraction: float) -> float:
    """The exact percentile with linear interpolation (``latency``'s), in the very float
    operations the analysis's SQL performs, so a request at the threshold is kept by both."""
    h = (len(ordered) - 1) * fraction
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


class CriticalPaths:
    """Every request's sections, compactly; rows for any window and ``--slowest``."""

    def __init__(self) -> None:
        self.keys: list[Hashable] = []
        self._key_index: dict[Hashable, int] = {}
        self.root_key = array("i")
        self.start = array("q")
        self.duration = array("q")
        self.offsets = array("q", [0])
        self.section_key = array("i")
        self.section_ns = array("q")

    def _index(self, key: Hashable) -> int:
        index = self._key_index.get(key)
        if index is None:
            index = self._key_index[key] = len(self.keys)
            self.keys.append(key)
        return index

    def add_request(self, spans: Sequence[TreeSpan], root: TreeSpan) -> None:
        by_id = {s.span_id: s for s in spans}
        per_key: dict[int, int] = {}
        for span_id, ns in own_times(spans, root).items():
            if ns > 0:
                k = self._index(by_id[span_id].key)
                per_key[k] = per_key.get(k, 0) + ns
        self.root_key.append(self._index(root.key))
        self.start.append(root.start)
        self.duration.append(root.end - root.start)
        for k, ns in per_key.items():
            self.section_key.append(k)
            self.section_ns.append(ns)
        self.offsets.append(len(self.section_key))

    def _kept(self, start_ns: int, end_ns: int, slowest: float | None) -> list[int]:
        """Requests starting in [start_ns, end_ns), at or above the percentile of their root
        operation's duration."""
        chosen = [i for i, t in enumerate(self.start) if start_ns <= t < end_ns]
        if slowest is None:
            return chosen
        by_root: dict[int, list[float]] = {}
        for i in chosen:
            by_root.setdefault(self.root_key[i], []).append(float(self.duration[i]))
        threshold = {k: threshold_of(sorted(v), slowest / 100.0) for k, v in by_root.items()}
        return [i for i in chosen if float(self.duration[i]) >= threshold[self.root_key[i]]]

    def rows(
        self,
        start_ns: int,
        end_ns: int,
        slowest: float | None,
        names: Iterable[str],
        group: Any = None,
    ) -> list[dict[str, Any]]:
        """Rows as the analysis gives them: ``names`` are the key's columns; ``group`` maps a
        span's key to the row key (e.g. to its service alone)."""
        kept = self._kept(start_ns, end_ns, slowest)
        total = sum(self.duration[i] for i in kept)
        sums: dict[Any, int] = {}
        traces: dict[Any, int] = {}
        for i in kept:
            per_row: dict[Any, int] = {}
            for j in range(self.offsets[i], self.offsets[i + 1]):
                key = self.keys[self.section_key[j]]
                row_key = group(key) if group else key
                per_row[row_key] = per_row.get(row_key, 0) + self.section_ns[j]
            for row_key, ns in per_row.items():
                sums[row_key] = sums.get(row_key, 0) + ns
                traces[row_key] = traces.get(row_key, 0) + 1
        columns = list(names)
        rows = []
        for row_key, ns in sums.items():
            values = row_key if isinstance(row_key, tuple) else (row_key,)
            rows.append(
                {
                    **dict(zip(columns, values, strict=True)),
                    "critical_ms": ns / 1e6,
                    "share": float(ns) / float(total),
                    "traces": traces[row_key],
                    "mean_critical_ms": ns / 1e6 / traces[row_key],
                }
            )
        rows.sort(key=lambda r: (-r["critical_ms"], *(r[c] for c in columns)))
        return rows
