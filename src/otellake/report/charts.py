"""The report's charts: matplotlib (Agg) figures as PNG bytes, embedded in the HTML as data URIs
so the page opens offline."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _times(texts: list[str]) -> np.ndarray:
    """ISO-8601 UTC instants ("...Z") as numpy datetimes for the x axis."""
    return np.array([t.removesuffix("Z") for t in texts], dtype="datetime64[s]")


def error_rate(rows: list[dict[str, Any]]) -> bytes:
    """Horizontal bars: error rate (%) per service, the worst on top."""
    rows = sorted(rows, key=lambda r: r["error_rate"])
    figure = _figure(8, 0.4 * len(rows) + 1.2)
    ax = figure.subplots()
    values = [r["error_rate"] * 100 for r in rows]
    bars = ax.barh([r["service_name"] for r in rows], values, color="#c0392b")
    ax.bar_label(bars, labels=[f"{v:.2f}%" for v in values], padding=3, fontsize=8)
    ax.set_xlabel("error rate (% of SERVER/CONSUMER spans)")
    ax.set_xlim(0, max([*values, 0.1]) * 1.25)
    return _png(figure)


def critical_path(rows: list[dict[str, Any]]) -> bytes:
    """Horizontal bars: each service's share (%) of the slowest requests' time, on their
    critical paths; the largest on top."""
    rows = sorted(rows, key=lambda r: r["share"])
    figure = _figure(8, 0.4 * len(rows) + 1.2)
    ax = figure.subplots()
    values = [r["share"] * 100 for r in rows]
    bars = ax.barh([r["service_name"] for r in rows], values, color="#2e86c1")
    ax.bar_label(
        bars,
        labels=[
            f"{v:.1f}% · {r['mean_critical_ms']:.1f} ms" for v, r in zip(values, rows, strict=True)
        ],
        padding=3,
        fontsize=8,
    )
    ax.set_xlabel(
        "share of the slowest requests' time on the critical path (%) · mean ms per request"
    )
    ax.set_xlim(0, max([*values, 1.0]) * 1.35)
    return _png(figure)


def latency_over_time(rows: list[dict[str, Any]]) -> bytes:
    """p50, p95, p99 per service over time (one panel each, log scale)."""
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        series[row["service_name"]].append(row)
    figure = _figure(10, 8)
    axes = figure.subplots(3, 1, sharex=True)
    for ax, quantile in zip(axes, ("p50_ms", "p95_ms", "p99_ms"), strict=True):
        for service, points in sorted(series.items()):
            points.sort(key=lambda r: r["bucket_start"])
            ax.plot(
                _times([p["bucket_start"] for p in points]),
                [p[quantile] for p in points],
                label=service,
                linewidth=1,
            )
        ax.set_yscale("log")
        ax.set_ylabel(f"{quantile.removesuffix('_ms')} (ms)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=7, ncol=5, loc="upper left", bbox_to_anchor=(0, 1.35))
    axes[-1].set_xlabel("time (UTC)")
    return _png(figure)


def _layers(edges: list[dict[str, Any]]) -> dict[str, int]:
    """Depth of each service from the callers nobody calls (cycles stop at the first visit)."""
    callees = defaultdict(set)
    nodes: set[str] = set()
    for edge in edges:
        callees[edge["caller"]].add(edge["callee"])
        nodes |= {edge["caller"], edge["callee"]}
    called = {e["callee"] for e in edges}
    roots = sorted(nodes - called) or sorted(nodes)[:1]
    depth = dict.fromkeys(roots, 0)
    frontier = list(roots)
    while frontier:
        nxt = []
        for node in frontier:
            for callee in sorted(callees[node]):
                if callee not in depth:
                    depth[callee] = depth[node] + 1
                    nxt.append(callee)
        frontier = nxt
    for node in sorted(nodes - set(depth)):
        depth[node] = 0
    return depth


def dependencies(edges: list[dict[str, Any]]) -> bytes:
    """The call graph left to right by depth; edge width by calls, red by error rate."""
    depth = _layers(edges)
    columns: dict[int, list[str]] = defaultdict(list)
    for node, d in sorted(depth.items(), key=lambda kv: (kv[1], kv[0])):
        columns[d].append(node)
    tallest = max(len(c) for c in columns.values())
    position = {}
    for d, names in columns.items():
        for i, name in enumerate(names):
            position[name] = (d * 3.0, (len(names) - 1) / 2 - i)  # centred columns
    figure = _figure(11, max(3.0, 0.8 * tallest + 1))
    ax = figure.subplots()
    most = max(e["calls"] for e in edges)
    virtual = {e["callee"] for e in edges if e["is_virtual"]}
    for edge in edges:
        (x0, y0), (x1, y1) = position[edge["caller"]], position[edge["callee"]]
        rate = edge["error_rate"] or 0.0
        ax.annotate(
            "",
            xy=(x1 - 0.45, y1),
            xytext=(x0 + 0.45, y0),
            arrowprops={
                "arrowstyle": "->",
                "color": (min(1.0, 0.3 + rate * 5), 0.3, 0.3) if rate > 0.001 else "#7f8c8d",
                "linewidth": 0.5 + 3 * edge["calls"] / most,
            },
        )
        ax.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            f"{edge['calls']}" + (f" · {rate:.1%} err" if rate > 0.001 else ""),
            fontsize=6,
            ha="center",
            color="#34495e",
        )
    for name, (x, y) in position.items():
        ax.text(
            x,
            y,
            name,
            ha="center",
            va="center",
            fontsize=8,
            bbox={
                "boxstyle": "round,pad=0.3",
                "facecolor": "#ecf0f1" if name in virtual else "#d6eaf8",
                "edgecolor": "#95a5a6" if name in virtual else "#2e86c1",
            },
        )
    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    return _png(figure)


def anomaly_scores(scores: list[dict[str, Any]]) -> bytes:
    """Each service's anomaly score per minute; anomalies marked."""
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in scores:
        series[row["service_name"]].append(row)
    figure = _figure(10, 4)
    ax = figure.subplots()
    for service, points in sorted(series.items()):
        points.sort(key=lambda r: r["minute"])
        ax.plot(_times([p["minute"] for p in points]), [p["score"] for p in points], linewidth=0.8)
        flagged = [p for p in points if p["is_anomaly"]]
        if flagged:
            ax.scatter(
                _times([p["minute"] for p in flagged]),
                [p["score"] for p in flagged],
                color="#c0392b",
                s=14,
                zorder=3,
            )
        last = points[-1]
        ax.annotate(service, (_times([last["minute"]])[0], last["score"]), fontsize=6)
    ax.set_ylabel("anomaly score")
    ax.set_xlabel("minute (UTC); red: anomaly")
    ax.grid(True, alpha=0.3)
    return _png(figure)
