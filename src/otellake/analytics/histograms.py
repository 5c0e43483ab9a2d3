"""Histogram arithmetic for the metrics analysis (pure functions, no engine).

A distribution is a list of buckets ``(lower, upper, count)`` in ascending order. Percentiles
interpolate linearly inside the bucket holding the rank (``q * total``); the open first bucket
of an explicit histogram starts at ``min`` (else 0) and the open last one ends at ``max`` (else
at its lower bound), as pinned in docs/contract.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Bucket = tuple[float, float, int]


def explicit_buckets(
    bounds: Sequence[float], counts: Sequence[int], lo: float | None, hi: float | None
) -> list[Bucket]:
    """Explicit-bounds histogram → buckets; bucket i is (bounds[i-1], bounds[i]]."""
    if len(counts) != len(bounds) + 1:
        if not bounds and len(counts) == 1:
            return [(lo if lo is not None else 0.0, hi if hi is not None else 0.0, counts[0])]
        raise ValueError(f"{len(counts)} bucket counts for {len(bounds)} bounds")
    edges = [lo if lo is not None else 0.0, *bounds]
    last_upper = hi if hi is not None else (bounds[-1] if bounds else 0.0)
    uppers = [*bounds, last_upper]
    return [(edges[i], uppers[i], int(c)) for i, c in enumerate(counts)]


def exponential_buckets(
    scale: int,
    zero_count: int,
    zero_threshold: float,
    positive: dict[int, int],
    negative: dict[int, int],
    lo: float | None,
    hi: float | None,
) -> list[Bucket]:
    """Exponential histogram (bucket index → count at ``scale``) → ascending buckets.

    Index i covers (base^i, base^(i+1)] with base = 2^(2^-scale); negative buckets mirror that.
    The outermost non-empty buckets are narrowed to ``min``/``max`` when those are known.
    """
    base = 2.0 ** (2.0**-scale)
    buckets: list[Bucket] = [
        (-(base ** (i + 1)), -(base**i), c) for i, c in sorted(negative.items(), reverse=True)
    ]
    if zero_count:
        buckets.append((-zero_threshold, zero_threshold, zero_count))
    buckets += [(base**i, base ** (i + 1), c) for i, c in sorted(positive.items())]
    buckets = [b for b in buckets if b[2] > 0]
    if buckets and lo is not None:
        low, up, c = buckets[0]
        buckets[0] = (max(low, lo), up, c)
    if buckets and hi is not None:
        low, up, c = buckets[-1]
        buckets[-1] = (low, min(up, hi), c)
    return buckets


def downscale(buckets: dict[int, int], by: int) -> dict[int, int]:
    """The same counts at ``scale - by`` (each index shifted right, neighbours merged)."""
    if by <= 0:
        return dict(buckets)
    merged: dict[int, int] = {}
    for index, count in buckets.items():
        merged[index >> by] = merged.get(index >> by, 0) + count
    return merged


def percentile(buckets: Sequence[Bucket], q: float) -> float | None:
    total = sum(c for _, _, c in buckets)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for lower, upper, count in buckets:
        if count <= 0:
            continue
        if seen + count >= rank:
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return buckets[-1][1]


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
