"""Day two of the small lake (2026-01-02): traces with a known tree, dependencies, error-log
templates and metric points whose answers the tests work out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tests.analytics.conftest_rows import default_row

DAY = date(2026, 1, 2)
T0 = datetime(2026, 1, 2, 0, 0, tzinfo=UTC)
NS0 = int(T0.timestamp()) * 10**9
MS = 10**6
MIN = 60 * 10**9
TRACE_A, TRACE_B, TRACE_C = "a" * 32, "b" * 32, "c" * 32
MISSING_PARENT = "f" * 16


def sid(n: int) -> str:
    return f"{n:016x}"


def span(
    trace_id: str,
    n: int,
    parent: str,
    service: str,
    name: str,
    kind: str,
    start_ns: int,
    ms: float,
    **extra: Any,
) -> dict[str, Any]:
    start = NS0 + start_ns
    row = default_row("spans") | {
        "trace_id": trace_id,
        "span_id": sid(n),
        "parent_span_id": parent,
        "service_name": service,
        "span_name": name,
        "span_kind": kind,
        "start_time": datetime.fromtimestamp(start / 1e9, UTC),
        "start_time_unix_nano": start,
        "end_time_unix_nano": start + int(ms * MS),
        "duration_ns": int(ms * MS),
        "status_code": "UNSET",
        "resource_attributes": {"service.name": service},
        "date": DAY,
    }
    return row | extra


SPANS = [
    # trace A: frontend → checkout → (postgresql, redis), plus an orphan in cart
    span(TRACE_A, 1, "", "frontend", "GET /", "SERVER", 0, 100),
    span(
        TRACE_A, 2, sid(1), "frontend", "POST /checkout", "CLIENT", 10 * MS, 50,
        span_attributes={"peer.service": "checkout"},
    ),
    span(TRACE_A, 3, sid(2), "checkout", "POST /checkout", "SERVER", 12 * MS, 45),
    span(
        TRACE_A, 4, sid(3), "checkout", "SELECT orders", "CLIENT", 15 * MS, 10,
        span_attributes={"db.system.name": "postgresql", "server.address": "db1"},
    ),
    span(
        TRACE_A, 5, sid(3), "checkout", "GET", "CLIENT", 15 * MS, 5,
        span_attributes={"db.system": "redis"}, status_code="ERROR",
    ),
    span(TRACE_A, 6, sid(1), "frontend", "render", "INTERNAL", 70 * MS, 20),
    span(TRACE_A, 7, MISSING_PARENT, "cart", "GET /cart", "SERVER", 5 * MS, 10),
    # trace B: frontend → product-catalog twice, product-catalog → cache-1, an unnamed call
    span(TRACE_B, 11, "", "frontend", "GET /product", "SERVER", 5 * MIN, 60),
    span(TRACE_B, 12, sid(11), "frontend", "GetProduct", "CLIENT", 5 * MIN + MS, 20),
    span(TRACE_B, 13, sid(12), "product-catalog", "GetProduct", "SERVER", 5 * MIN + 2 * MS, 15),
    span(TRACE_B, 14, sid(11), "frontend", "GetProduct", "CLIENT", 5 * MIN + 30 * MS, 40),
    span(TRACE_B, 15, sid(14), "product-catalog", "GetProduct", "SERVER", 5 * MIN + 31 * MS, 30),
    span(
        TRACE_B, 16, sid(13), "product-catalog", "cache get", "CLIENT", 5 * MIN + 3 * MS, 1,
        span_attributes={"server.address": "cache-1"},
    ),
    span(TRACE_B, 17, sid(13), "product-catalog", "mystery", "CLIENT", 5 * MIN + 5 * MS, 1),
    # trace C: checkout publishes to shipping; a second publish nobody consumes
    span(TRACE_C, 21, "", "checkout", "POST /order", "SERVER", 10 * MIN, 30),
    span(TRACE_C, 22, sid(21), "checkout", "publish order", "PRODUCER", 10 * MIN + MS, 2),
    span(TRACE_C, 23, sid(22), "shipping", "consume order", "CONSUMER", 10 * MIN + 9 * MS, 8),
    span(TRACE_C, 24, sid(21), "checkout", "publish audit", "PRODUCER", 10 * MIN + 4 * MS, 2),
]  # fmt: skip

# Tree order of trace A: pre-order, children by (start, span_id), the orphan a root.
TRACE_A_ORDER = [(1, 0), (2, 1), (3, 2), (4, 3), (5, 3), (6, 1), (7, 0)]


def trace_index() -> list[dict[str, Any]]:
    rows = []
    for trace_id in (TRACE_A, TRACE_B, TRACE_C):
        spans = [s for s in SPANS if s["trace_id"] == trace_id]
        root = min((s for s in spans if not s["parent_span_id"]), key=lambda s: s["span_id"])
        rows.append(
            {
                "trace_id": trace_id,
                "date": DAY,
                "start_time_unix_nano_min": min(s["start_time_unix_nano"] for s in spans),
                "end_time_unix_nano_max": max(s["end_time_unix_nano"] for s in spans),
                "span_count": len(spans),
                "root_service_name": root["service_name"],
                "root_span_name": root["span_name"],
            }
        )
    return rows


def log(service: str, minute: float, severity: int, body: str, **extra: Any) -> dict[str, Any]:
    t = NS0 + int(minute * MIN)
    return (
        default_row("logs")
        | {
            "time_unix_nano": t,
            "observed_time_unix_nano": t,
            "timestamp": datetime.fromtimestamp(t / 1e9, UTC),
            "severity_number": severity,
            "severity_text": "ERROR" if severity >= 17 else "INFO",
            "body": body,
            "service_name": service,
            "date": DAY,
        }
        | extra
    )


LOGS = [
    log("checkout", 0, 17, 'payment 1234 failed for user "bob"', trace_id=TRACE_A, span_id=sid(5)),
    log("checkout", 3, 17, 'payment 99.5 failed for user "alice"'),
    log("frontend", 4, 18, "trace 4bf92f3577b34da6a3ce929d0e0e4736 not found"),
    log("frontend", 6, 17, "trace 00f067aa0ba902b7 not found"),
    log("shipping", 7, 21, "order 123e4567-e89b-12d3-a456-426614174000 can't ship to 'Oslo'"),
    log("checkout", 8, 17, "retry 3 of 0x1F"),
    log("checkout", 0, 9, "payment 5 ok", trace_id=TRACE_A, span_id=sid(3)),
]
TEMPLATES = [
    ("payment <num> failed for user <str>", 2, "checkout"),
    ("trace <hex> not found", 2, "frontend"),
    ("order <uuid> can't ship to <str>", 1, "shipping"),
    ("retry <num> of <hex>", 1, "checkout"),
]


def metric(table: str, name: str, service: str, minute: float, **values: Any) -> dict[str, Any]:
    t = NS0 + int(minute * MIN)
    return (
        default_row(table)
        | {
            "service_name": service,
            "metric_name": name,
            "resource_attributes": {"service.name": service},
            "start_time_unix_nano": NS0 - 3600 * 10**9,  # started before the window
            "time_unix_nano": t,
            "timestamp": datetime.fromtimestamp(t / 1e9, UTC),
            "date": DAY,
        }
        | values
    )


HISTOGRAMS = [
    metric(
        "metrics_histogram", "http.server.request.duration", "frontend", 1,
        attributes={"http.route": "/"}, aggregation_temporality="DELTA", metric_unit="s",
        explicit_bounds=[0.1, 0.5, 1.0], bucket_counts=[2, 3, 0, 0], count=5, sum=1.0,
        min=0.05, max=0.4,
    ),
    metric(
        "metrics_histogram", "http.server.request.duration", "frontend", 2,
        attributes={"http.route": "/"}, aggregation_temporality="DELTA", metric_unit="s",
        explicit_bounds=[0.1, 0.5, 1.0], bucket_counts=[0, 1, 3, 1], count=5, sum=4.5,
        min=0.3, max=2.0,
    ),
    *[
        metric(
            "metrics_histogram", "rpc.duration", "checkout", minute,
            aggregation_temporality="CUMULATIVE", metric_unit="ms", explicit_bounds=[10.0],
            bucket_counts=counts, count=sum(counts), sum=total, min=None, max=None,
        )
        for minute, counts, total in ((1, [1, 1], 15.0), (2, [4, 2], 40.0), (3, [1, 0], 5.0))
    ],
]  # fmt: skip
EXP_HISTOGRAMS = [
    metric(
        "metrics_exp_histogram", "latency.exp", "cart", 1, aggregation_temporality="DELTA",
        scale=1, positive_offset=0, positive_bucket_counts=[2, 2], count=4, sum=6.0,
        min=1.2, max=1.9,
    ),
    metric(
        "metrics_exp_histogram", "latency.exp", "cart", 2, aggregation_temporality="DELTA",
        scale=0, positive_offset=1, positive_bucket_counts=[4], count=4, sum=11.0,
        min=2.5, max=3.0,
    ),
]  # fmt: skip
SUMS = [
    *[
        metric(
            "metrics_sum", "requests", "frontend", minute, attributes={"a": "1"}, value=value,
            aggregation_temporality="CUMULATIVE", is_monotonic=True,
        )
        for minute, value in ((1, 10.0), (2, 15.0), (3, 3.0), (4, 8.0))
    ],
    *[
        metric(
            "metrics_sum", "bytes", "frontend", minute, value=value,
            aggregation_temporality="DELTA", is_monotonic=True,
        )
        for minute, value in ((1, 100.0), (61, 50.0))
    ],
    *[
        metric(
            "metrics_sum", "jobs", "cart", minute, value=value,
            start_time_unix_nano=NS0 + 30 * 10**9, aggregation_temporality="CUMULATIVE",
            is_monotonic=True,
        )
        for minute, value in ((1, 4.0), (2, 6.0))
    ],
    metric(
        "metrics_sum", "queue.size", "cart", 1, value=7.0, aggregation_temporality="CUMULATIVE",
        is_monotonic=False,
    ),
]  # fmt: skip

TABLES = {
    "spans": SPANS,
    "logs": LOGS,
    "trace_index": trace_index(),
    "metrics_histogram": HISTOGRAMS,
    "metrics_exp_histogram": EXP_HISTOGRAMS,
    "metrics_sum": SUMS,
}
