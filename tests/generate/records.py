"""Decode generated Kafka records back into plain rows (independently of the generator)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from google.protobuf.message import Message

from otellake import topic_peek

METRIC_TABLES = {
    "gauge": "metrics_gauge",
    "sum": "metrics_sum",
    "histogram": "metrics_histogram",
    "exponential_histogram": "metrics_exp_histogram",
    "summary": "metrics_summary",
}


def value_of(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in kvs}


def decode_all(values: list[tuple[str, bytes]]) -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = {"traces": [], "logs": [], "metrics": []}
    for signal, value in values:
        out[signal].append(topic_peek.decode(signal, value))  # type: ignore[arg-type]
    return out


def span_rows(requests: list[Message]) -> list[dict[str, Any]]:
    """One dict per span: ids in hex, service, scope, times, kind, status, attributes, events."""
    rows = []
    for request in requests:
        for rs in request.resource_spans:
            resource = attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    rows.append(
                        {
                            "trace_id": s.trace_id.hex(),
                            "span_id": s.span_id.hex(),
                            "parent_span_id": s.parent_span_id.hex(),
                            "service_name": resource["service.name"],
                            "resource": resource,
                            "scope": (ss.scope.name, ss.scope.version),
                            "span_name": s.name,
                            "kind": s.kind,
                            "start": s.start_time_unix_nano,
                            "end": s.end_time_unix_nano,
                            "flags": s.flags,
                            "status_code": s.status.code,
                            "status_message": s.status.message,
                            "attributes": attributes(s.attributes),
                            "events": [
                                (e.time_unix_nano, e.name, attributes(e.attributes))
                                for e in s.events
                            ],
                        }
                    )
    return rows


def log_rows(requests: list[Message]) -> list[dict[str, Any]]:
    rows = []
    for request in requests:
        for rl in request.resource_logs:
            resource = attributes(rl.resource.attributes)
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    rows.append(
                        {
                            "service_name": resource["service.name"],
                            "resource": resource,
                            "scope": (sl.scope.name, sl.scope.version),
                            "time": r.time_unix_nano,
                            "observed": r.observed_time_unix_nano,
                            "severity_number": r.severity_number,
                            "severity_text": r.severity_text,
                            "body": value_of(r.body),
                            "attributes": attributes(r.attributes),
                            "trace_id": r.trace_id.hex(),
                            "span_id": r.span_id.hex(),
                        }
                    )
    return rows


def metric_points(requests: list[Message]) -> list[dict[str, Any]]:
    """One dict per data point: service, metric name, type, times, attributes, values."""
    rows = []
    for request in requests:
        for rm in request.resource_metrics:
            resource = attributes(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = metric.WhichOneof("data")
                    data = getattr(metric, kind)
                    for p in data.data_points:
                        row = {
                            "service_name": resource["service.name"],
                            "instance": resource["service.instance.id"],
                            "scope": (sm.scope.name, sm.scope.version),
                            "name": metric.name,
                            "unit": metric.unit,
                            "type": kind,
                            "start": p.start_time_unix_nano,
                            "time": p.time_unix_nano,
                            "attributes": attributes(p.attributes),
                        }
                        if kind in ("gauge", "sum"):
                            row["value"] = value_of(p)
                        elif kind == "summary":
                            row["value"] = (
                                p.count,
                                p.sum,
                                [(q.quantile, q.value) for q in p.quantile_values],
                            )
                        elif kind == "histogram":
                            row["value"] = (p.count, p.sum, list(p.bucket_counts), p.min, p.max)
                        else:
                            row["value"] = (
                                p.count,
                                p.sum,
                                p.scale,
                                p.zero_count,
                                p.positive.offset,
                                list(p.positive.bucket_counts),
                                p.min,
                                p.max,
                            )
                        rows.append(row)
    return rows


def points_per_table(requests: list[Message]) -> Counter[str]:
    return Counter(METRIC_TABLES[p["type"]] for p in metric_points(requests))


def assert_rows_equal(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Same rows, same columns in the same order; counts exact, floats within 1e-9 relative."""
    assert [list(r) for r in actual] == [list(r) for r in expected]
    for a, e in zip(actual, expected, strict=True):
        for key, value in e.items():
            if isinstance(value, float):
                assert a[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (key, a, e)
            else:
                assert a[key] == value, (key, a, e)
