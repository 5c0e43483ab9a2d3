"""The metrics analysis: percentiles from histogram buckets and rates from monotonic sums.

The engine selects the points of the window (pushdown on date, time, service and metric name);
the arithmetic below runs in Python on the points, the same code for both engines, so their
answers are identical. Metric points are few next to spans (one per series per export
interval), so this is cheap even on Spark.

Per series (metric name + resource attributes + point attributes), per bucket if asked:
- DELTA points add up. CUMULATIVE points contribute their increase over the previous point;
  a decrease (of the value, or of a histogram's count) is a reset, and the new value is the
  increase. The first point of a series in the window is the baseline (it adds nothing) unless
  the series started inside the window (its start time is in it): then all of it counts.
- Histograms (explicit and exponential): count, sum, p50/p90/p95/p99 in the metric's unit,
  ``rate_per_s`` = count ÷ seconds. Exponential points are brought to the series' smallest
  scale before they are added.
- Monotonic sums: ``increase`` and ``rate_per_s`` = increase ÷ seconds (non-monotonic sums are
  levels, not counters, and are left out).
Seconds = the bucket's length, else the window's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from otellake import schemas
from otellake.analytics import histograms
from otellake.analytics.engines import Engine, LakeMissing
from otellake.analytics.queries import SpanFilter, timestamp_where
from otellake.analytics.window import iso_z

QUANTILES = (0.5, 0.9, 0.95, 0.99)
COLUMNS = (
    "metric_name",
    "metric_type",
    "service_name",
    "resource_attributes",
    "attributes",
    "unit",
    "bucket_start",
    "points",
    "count",
    "sum",
    "p50",
    "p90",
    "p95",
    "p99",
    "increase",
    "rate_per_s",
)
_COMMON = (
    "metric_name, metric_unit, service_name, resource_attributes, attributes, "
    "start_time_unix_nano, time_unix_nano, aggregation_temporality"
)
# the metric types analysed (each in its table, ``schemas.metric_table``): their own columns
_SELECT = {
    "histogram": "count, sum, min, max, bucket_counts, explicit_bounds",
    "exp_histogram": (
        "count, sum, min, max, scale, zero_count, zero_threshold, positive_offset, "
        "positive_bucket_counts, negative_offset, negative_bucket_counts"
    ),
    "sum": "value",
}


@dataclass
class Dist:
    """What one point (or an increase, or a total) holds."""

    count: float = 0
    total: float = 0.0
    lo: float | None = None
    hi: float | None = None
    bounds: tuple[float, ...] = ()
    counts: list[int] = field(default_factory=list)  # explicit
    scale: int | None = None  # exponential
    zero: int = 0
    zero_threshold: float = 0.0
    positive: dict[int, int] = field(default_factory=dict)
    negative: dict[int, int] = field(default_factory=dict)

    def at_scale(self, scale: int) -> Dist:
        if self.scale is None or self.scale == scale:
            return self
        by = self.scale - scale
        return Dist(
            self.count, self.total, self.lo, self.hi, scale=scale, zero=self.zero,
            zero_threshold=self.zero_threshold,
            positive=histograms.downscale(self.positive, by),
            negative=histograms.downscale(self.negative, by),
        )  # fmt: skip

    def minus(self, prev: Dist) -> Dist:
        """The increase from ``prev`` (same layout) to this point."""
        return Dist(
            self.count - prev.count, self.total - prev.total, self.lo, self.hi, self.bounds,
            [a - b for a, b in zip(self.counts, prev.counts, strict=True)], self.scale,
            self.zero - prev.zero, self.zero_threshold,
            _sub(self.positive, prev.positive), _sub(self.negative, prev.negative),
        )  # fmt: skip

    def plus(self, other: Dist) -> Dist:
        counts = (
            [a + b for a, b in zip(self.counts, other.counts, strict=True)]
            if self.counts and other.counts
            else self.counts or other.counts
        )
        return Dist(
            self.count + other.count, self.total + other.total, _pick(min, self.lo, other.lo),
            _pick(max, self.hi, other.hi), self.bounds or other.bounds, counts,
            self.scale if self.scale is not None else other.scale, self.zero + other.zero,
            max(self.zero_threshold, other.zero_threshold),
            _add(self.positive, other.positive), _add(self.negative, other.negative),
        )  # fmt: skip

    def same_layout(self, other: Dist) -> bool:
        return self.bounds == other.bounds and len(self.counts) == len(other.counts)

    def buckets(self) -> list[histograms.Bucket]:
        if self.scale is not None:
            return histograms.exponential_buckets(
                self.scale, self.zero, self.zero_threshold, self.positive, self.negative,
                self.lo, self.hi,
            )  # fmt: skip
        return histograms.explicit_buckets(self.bounds, self.counts, self.lo, self.hi)


def _sub(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    return {k: a.get(k, 0) - b.get(k, 0) for k in a.keys() | b.keys()}


def _add(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}


def _pick(fn: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return fn(a, b)


def _indexed(offset: int, counts: Iterable[int] | None) -> dict[int, int]:
    return {offset + i: int(c) for i, c in enumerate(counts or []) if c}


def _dist(metric_type: str, p: dict[str, Any]) -> Dist:
    if metric_type == "sum":
        return Dist(count=p["value"])
    lo, hi = histograms.finite_or_none(p["min"]), histograms.finite_or_none(p["max"])
    if metric_type == "histogram":
        return Dist(
            p["count"], p["sum"] or 0.0, lo, hi, tuple(p["explicit_bounds"] or ()),
            [int(c) for c in p["bucket_counts"] or []],
        )  # fmt: skip
    return Dist(
        p["count"], p["sum"] or 0.0, lo, hi, scale=p["scale"], zero=p["zero_count"] or 0,
        zero_threshold=p["zero_threshold"] or 0.0,
        positive=_indexed(p["positive_offset"] or 0, p["positive_bucket_counts"]),
        negative=_indexed(p["negative_offset"] or 0, p["negative_bucket_counts"]),
    )  # fmt: skip


def _json(value: dict[str, str] | None) -> str:
    """Attributes (a dict on both engines) as compact JSON with sorted keys."""
    return json.dumps(value or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _points(engine: Engine, metric_type: str, f: SpanFilter) -> list[dict[str, Any]] | None:
    table = schemas.metric_table(metric_type)
    params: dict[str, Any] = {}
    clauses = [timestamp_where(f, params)]
    if f.metric is not None:
        params["metric"] = f.metric
        clauses.append("metric_name = :metric")
    if metric_type == "sum":
        clauses.append("is_monotonic")
    sql = f"SELECT {_COMMON}, {_SELECT[metric_type]} FROM {table} WHERE {' AND '.join(clauses)}"
    try:
        return engine.query(sql, params, [table])
    except LakeMissing:
        return None


def _bucket_start(time_unix_nano: int, bucket_s: int | None) -> str | None:
    if bucket_s is None:
        return None
    start_s = time_unix_nano // 1_000_000_000 // bucket_s * bucket_s
    return iso_z(datetime.fromtimestamp(start_s, UTC))


def _series_rows(
    metric_type: str, points: list[dict[str, Any]], f: SpanFilter
) -> list[dict[str, Any]]:
    series: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for p in points:
        key = (p["metric_name"], _json(p["resource_attributes"]), _json(p["attributes"]))
        series.setdefault(key, []).append(p)
    window_start_ns = int(f.window.start.timestamp()) * 1_000_000_000
    seconds = f.bucket_s or (f.window.end - f.window.start).total_seconds()
    rows = []
    for (name, resource, attributes), pts in series.items():
        pts.sort(key=lambda p: (p["time_unix_nano"], p["start_time_unix_nano"]))
        dists = [_dist(metric_type, p) for p in pts]
        if metric_type == "exp_histogram":
            smallest = min(d.scale for d in dists if d.scale is not None)
            dists = [d.at_scale(smallest) for d in dists]
        totals: dict[str | None, tuple[Dist, int]] = {}
        prev: Dist | None = None
        for p, dist in zip(pts, dists, strict=True):
            if p["aggregation_temporality"] != "CUMULATIVE":
                gained: Dist | None = dist
            elif prev is None:
                started_inside = p["start_time_unix_nano"] >= window_start_ns > 0
                gained = dist if started_inside else None
            elif dist.count < prev.count or not dist.same_layout(prev):
                gained = dist  # a reset: the new value is the increase
            else:
                gained = dist.minus(prev)
            prev = dist
            if gained is not None:
                bucket = _bucket_start(p["time_unix_nano"], f.bucket_s)
                before, n = totals.get(bucket, (None, 0))
                totals[bucket] = (gained if before is None else before.plus(gained), n + 1)
            else:
                totals.setdefault(_bucket_start(p["time_unix_nano"], f.bucket_s), (Dist(), 0))
        first = pts[0]
        for bucket, (total, n) in sorted(totals.items(), key=lambda kv: kv[0] or ""):
            row: dict[str, Any] = {
                "metric_name": name,
                "metric_type": metric_type,
                "service_name": first["service_name"],
                "resource_attributes": resource,
                "attributes": attributes,
                "unit": first["metric_unit"],
                "bucket_start": bucket,
                "points": n,
            }
            row.update(_figures(metric_type, total, seconds))
            rows.append(row)
    return rows


def _figures(metric_type: str, total: Dist, seconds: float) -> dict[str, Any]:
    empty = {c: None for c in ("count", "sum", "p50", "p90", "p95", "p99", "increase")}
    if metric_type == "sum":
        return empty | {"increase": float(total.count), "rate_per_s": total.count / seconds}
    buckets = total.buckets() if total.counts or total.scale is not None else []
    figures = empty | {
        "count": int(total.count),
        "sum": float(total.total),
        "rate_per_s": total.count / seconds,
    }
    for q in QUANTILES:
        figures[f"p{int(q * 100)}"] = histograms.percentile(buckets, q)
    return figures


def metrics(engine: Engine, f: SpanFilter) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    missing = []
    for metric_type in _SELECT:
        points = _points(engine, metric_type, f)
        if points is None:
            missing.append(schemas.metric_table(metric_type))
            continue
        rows += _series_rows(metric_type, points, f)
    if len(missing) == len(_SELECT):
        raise LakeMissing(
            f"no metric tables ({', '.join(missing)}) in {engine.settings.lake}; "
            "has `otellake ingest --signal metrics` run?"
        )
    if f.bucket_s is None:
        for row in rows:
            del row["bucket_start"]
    rows.sort(
        key=lambda r: (
            r["metric_name"], r["service_name"], r["resource_attributes"], r["attributes"],
            r.get("bucket_start") or "",
        )
    )  # fmt: skip
    return rows
