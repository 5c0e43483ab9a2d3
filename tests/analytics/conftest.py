"""A small lake with hand-computable answers, written with Spark through the lake module."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from otellake import lake, schemas
from otellake.settings import Settings

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
NS0 = int(T0.timestamp()) * 10**9
MIN = 60 * 10**9


def span_row(
    service: str, name: str, kind: str, minute: float, ms: float, **extra: Any
) -> dict[str, Any]:
    start = NS0 + int(minute * MIN)
    row: dict[str, Any] = {
        "trace_id": extra.pop("trace_id", f"{abs(hash((service, name, minute))):032x}"[-32:]),
        "span_id": f"{abs(hash((name, minute, ms))):016x}"[-16:],
        "parent_span_id": "",
        "trace_state": "",
        "flags": 0,
        "service_name": service,
        "span_name": name,
        "span_kind": kind,
        "start_time": datetime.fromtimestamp(start / 1e9, UTC),
        "start_time_unix_nano": start,
        "end_time_unix_nano": start + int(ms * 1e6),
        "duration_ns": int(ms * 1e6),
        "status_code": "UNSET",
        "status_message": "",
        "resource_attributes": {"service.name": service},
        "scope_name": "t",
        "scope_version": "1",
        "span_attributes": {},
        "events": [],
        "links": [],
        "dropped_attributes_count": 0,
        "dropped_events_count": 0,
        "dropped_links_count": 0,
        "date": date(2026, 1, 1),
    }
    row.update(extra)
    return row


def exception_event(minute: float, kind: str, message: str) -> dict[str, Any]:
    return {
        "time_unix_nano": NS0 + int(minute * MIN),
        "name": "exception",
        "attributes": {"exception.type": kind, "exception.message": message},
    }


def log_row(service: str, minute: float, severity: int, body: str) -> dict[str, Any]:
    t = NS0 + int(minute * MIN)
    return {
        "time_unix_nano": t,
        "observed_time_unix_nano": t,
        "timestamp": datetime.fromtimestamp(t / 1e9, UTC),
        "trace_id": "",
        "span_id": "",
        "trace_flags": 0,
        "severity_number": severity,
        "severity_text": "",
        "body": body,
        "event_name": "",
        "service_name": service,
        "resource_attributes": {},
        "scope_name": "",
        "scope_version": "",
        "log_attributes": {},
        "dropped_attributes_count": 0,
        "date": date(2026, 1, 1),
    }


SPANS = [
    span_row("checkout", "POST /pay", "SERVER", 1, 10),
    span_row(
        "checkout",
        "POST /pay",
        "SERVER",
        2,
        20,
        status_code="ERROR",
        events=[
            exception_event(2.01, "ValueError", "card declined"),
            {"time_unix_nano": NS0, "name": "log", "attributes": {}},
        ],
    ),
    span_row("checkout", "POST /pay", "SERVER", 7, 30),
    span_row("checkout", "POST /pay", "SERVER", 8, 40),
    span_row(
        "checkout",
        "GET /cart",
        "SERVER",
        9,
        50,
        span_attributes={"http.response.status_code": "503"},
    ),
    span_row(
        "checkout",
        "charge",
        "CLIENT",
        3,
        100,
        status_code="ERROR",  # not a default kind
        events=[exception_event(3.5, "ValueError", "card declined")],
    ),
    span_row("cart", "consume", "CONSUMER", 4, 5),
    span_row(
        "cart",
        "GET /items",
        "SERVER",
        12,
        15,
        span_attributes={"http.status_code": "500"},
        events=[exception_event(12, "KeyError", "missing")],
    ),
    span_row("cart", "GET /items", "SERVER", 60, 99),  # at `to`: outside [from, to)
    span_row("cart", "GET /items", "SERVER", -1, 99),  # before `from`
]
LOGS = [
    log_row("checkout", 2, 17, "payment failed"),
    log_row("checkout", 8, 21, "fatal"),
    log_row("checkout", 8, 9, "info"),
    log_row("cart", 70, 17, "outside"),
]


def write_lake(spark: Any, settings: Settings) -> None:
    from tests.analytics import shop_day

    tables = shop_day.TABLES | {"spans": SPANS + shop_day.SPANS, "logs": LOGS + shop_day.LOGS}
    for table, rows in tables.items():
        lake.ensure_table(spark, settings, table)
        spec = schemas.table(table)
        df = spark.createDataFrame(rows, spec.spark_schema())
        df.write.format("delta").mode("append").save(lake.table_path(settings, table))


@pytest.fixture(scope="module")
def small_lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home: Path = tmp_path_factory.mktemp("analytics")
    settings = Settings(home=home, lake=str(home / "lake"))  # type: ignore[arg-type]
    write_lake(spark, settings)
    return settings
