"""The ground truth of a generated run, computed with the analytics semantics.

``docs/contract.md``: SERVER and CONSUMER spans by default; an error span has status
ERROR, or is a SERVER span with ``http.response.status_code`` 500-599; percentiles are exact
with linear interpolation on ``duration_ns`` as a double, divided by 1e6. Rows carry the
analytics' column names and order (``latency`` and ``errors``, by service and by operation),
so a test compares them with ``otellake analyze ... --format json`` directly.
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from otellake import schemas
from otellake.generate.critical_path_truth import CriticalPaths, TreeSpan
from otellake.generate.shop import CONSUMER, HTTP_STATUS, KIND_NAMES, SERVER
from otellake.generate.simulate import ERROR, SEVERE, Incident, Plan, SimLog, SimSpan

SECOND = 1_000_000_000
PERCENTILES = (0.5, 0.9, 0.95, 0.99)


def percentile(ordered: list[float], p: float) -> float:
    """Exact percentile with linear interpolation (numpy's 'linear', DuckDB quantile_cont)."""
    h = (len(ordered) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def iso(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // SECOND, UTC)
    fraction = ns % SECOND
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction:09d}".rstrip("0") + "Z" if fraction else text + "Z"


def is_error(span: SimSpan) -> bool:
    """The analytics' error-span rule."""
    op = span.op
    return span.status == ERROR or (
        op.kind == SERVER
        and op.status_key == HTTP_STATUS
        and span.code is not None
        and 500 <= span.code <= 599
    )


class Truth:
    """Accumulates what a run writes; ``document()`` is the truth file's content."""

    def __init__(self) -> None:
        self.spans = 0
        self.logs = 0
        self.points: Counter[str] = Counter()
        self.durations: dict[tuple[str, str], array[int]] = {}  # SERVER/CONSUMER only
        self.errors: Counter[tuple[str, str]] = Counter()
        self.span_counts: Counter[tuple[str, str, str]] = Counter()  # every kind
        self.error_logs: Counter[str] = Counter()
        self.min_ns = math.inf
        self.max_ns = 0
        self.critical_paths = CriticalPaths()  # every request's path, walked on its tree

    def add_spans(self, spans: list[SimSpan]) -> None:
        self.spans += len(spans)
        durations, errors, counts = self.durations, self.errors, self.span_counts
        for s in spans:
            op = s.op
            counts[(op.service, op.name, KIND_NAMES[op.kind])] += 1
            if op.kind == SERVER or op.kind == CONSUMER:
                key = (op.service, op.name)
                values = durations.get(key)
                if values is None:
                    values = durations[key] = array("q")
                values.append(s.end - s.start)
                if is_error(s):
                    errors[key] += 1
        if spans:
            self.min_ns = min(self.min_ns, min(s.start for s in spans))
            self.max_ns = max(self.max_ns, max(s.end for s in spans))
        self._add_critical_paths(spans)

    def _add_critical_paths(self, spans: list[SimSpan]) -> None:
        """The critical path of each request (root SERVER span) among ``spans``, from the
        simulated tree: the spans as written (the run's last request may be cut short)."""
        by_trace: dict[bytes, list[SimSpan]] = {}
        for s in spans:
            by_trace.setdefault(s.trace_id, []).append(s)
        for members in by_trace.values():
            tree = [
                TreeSpan(
                    s.span_id.hex(), s.parent_id.hex(), s.start, s.end, (s.op.service, s.op.name)
                )
                for s in members
            ]
            for sim, node in zip(members, tree, strict=True):
                if not sim.parent_id and sim.op.kind == SERVER:
                    self.critical_paths.add_request(tree, node)

    def add_logs(self, logs: list[SimLog], services: list[str]) -> None:
        """``services``: service name by resource index."""
        self.logs += len(logs)
        for r in logs:
            if r.severity >= SEVERE:
                self.error_logs[services[r.resource]] += 1
            self.max_ns = max(self.max_ns, r.time, r.observed)
            self.min_ns = min(self.min_ns, r.time)

    def add_metrics(self, points: Counter[str], time_ns: int) -> None:
        self.points.update(points)
        self.max_ns = max(self.max_ns, time_ns)

    # ---- the document ---------------------------------------------------------------------

    def window(self, plan: Plan) -> tuple[int, int]:
        """[from, to) in whole seconds around everything written."""
        start = min(plan.start_ns, int(self.min_ns) if self.spans or self.logs else plan.start_ns)
        return start // SECOND * SECOND, (self.max_ns // SECOND + 1) * SECOND

    def _critical_path(self, start: int, end: int, incidents: list[Incident]) -> dict[str, Any]:
        """Rows over the run's window (every request, and ``--slowest 99``), and for each
        latency incident's window (``--slowest 99``)."""
        paths = self.critical_paths
        return {
            **_critical_path_rows(paths, start, end, None),
            "slowest_99": _critical_path_rows(paths, start, end, 99.0),
            "latency_incidents": [
                {
                    "service_name": i.service,
                    "from": iso(i.start_ns),
                    "to": iso(i.end_ns),
                    "slowest_99": _critical_path_rows(paths, i.start_ns, i.end_ns, 99.0),
                }
                for i in incidents
                if i.kind == "latency"
            ],
        }

    def document(self, seed: int, plan: Plan, incidents: list[Incident]) -> dict[str, Any]:
        start, end = self.window(plan)
        by_operation = sorted(self.durations)
        services = sorted({service for service, _ in by_operation})
        latency_ops = [
            {"service_name": s, "span_name": n, **_latency(list(self.durations[(s, n)]))}
            for s, n in by_operation
        ]
        latency_services = [
            {
                "service_name": service,
                **_latency(
                    [d for (s, _), values in self.durations.items() if s == service for d in values]
                ),
            }
            for service in services
        ]
        error_ops = [
            _error_row(
                {"service_name": s, "span_name": n},
                len(self.durations[(s, n)]),
                self.errors[(s, n)],
            )
            for s, n in by_operation
        ]
        error_services = []
        for service in services:
            spans = sum(len(v) for (s, _), v in self.durations.items() if s == service)
            errors = sum(e for (s, _), e in self.errors.items() if s == service)
            row = _error_row({"service_name": service}, spans, errors)
            row["error_logs"] = self.error_logs[service]
            error_services.append(row)
        span_services: Counter[str] = Counter()
        for (service, _, _), count in self.span_counts.items():
            span_services[service] += count
        return {
            "seed": seed,
            "plan": {
                "start": iso(plan.start_ns),
                "duration_s": plan.duration_ns / SECOND,
                "spans": plan.spans,
            },
            "window": {"from": iso(start), "to": iso(end)},
            "tables": {
                **dict.fromkeys(schemas.tables(role="span"), self.spans),
                **dict.fromkeys(schemas.tables(role="log"), self.logs),
                **{t: self.points[t] for t in schemas.metric_tables()},
            },
            "span_counts": {
                "by_service": [
                    {"service_name": s, "spans": span_services[s]} for s in sorted(span_services)
                ],
                "by_operation": [
                    {"service_name": s, "span_name": n, "span_kind": k, "spans": c}
                    for (s, n, k), c in sorted(self.span_counts.items())
                ],
            },
            "latency": {"by_service": latency_services, "by_operation": latency_ops},
            "errors": {"by_service": error_services, "by_operation": error_ops},
            "error_logs": {s: self.error_logs[s] for s in sorted(self.error_logs)},
            "critical_path": self._critical_path(start, end, incidents),
            "incidents": [
                {
                    "service_name": i.service,
                    "kind": i.kind,
                    "from": iso(i.start_ns),
                    "to": iso(i.end_ns),
                    **(
                        {"latency_multiplier": i.latency_multiplier, "wait_ms": i.wait_ms}
                        if i.kind == "latency"
                        else {"error_rate": i.error_rate}
                    ),
                }
                for i in incidents
            ],
        }


def _critical_path_rows(
    paths: CriticalPaths, start: int, end: int, slowest: float | None
) -> dict[str, list[dict[str, Any]]]:
    """``analyze critical-path`` rows for requests starting in [start, end), both groupings."""
    return {
        "by_operation": paths.rows(start, end, slowest, ("service_name", "span_name")),
        "by_service": paths.rows(start, end, slowest, ("service_name",), lambda key: key[0]),
    }


def _latency(durations_ns: list[int]) -> dict[str, Any]:
    ordered = sorted(float(d) for d in durations_ns)
    row: dict[str, Any] = {
        "count": len(ordered),
        "mean_ms": sum(durations_ns) / len(durations_ns) / 1e6,
        "max_ms": ordered[-1] / 1e6,
    }
    for p in PERCENTILES:
        row[f"p{int(p * 100)}_ms"] = percentile(ordered, p) / 1e6
    return row


def _error_row(keys: dict[str, Any], spans: int, errors: int) -> dict[str, Any]:
    return {**keys, "spans": spans, "error_spans": errors, "error_rate": errors / spans}


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
