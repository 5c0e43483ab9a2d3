"""`delete`: one trace, or a service's rows before a day; dry run, audit log, commit metadata."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from typer.testing import CliRunner

from otellake import lake
from otellake.cli import app
from otellake.fixes import DeleteRequest, delete_rows
from otellake.settings import Settings
from tests.maintain.conftest import DAY_NS, span_records, write_traces


def _spans(spark: Any, settings: Settings) -> Any:
    return spark.read.format("delta").load(lake.table_path(settings, "spans"))


def test_delete_a_trace_and_a_service_before_a_day(spark: Any, settings: Settings) -> None:
    now = time.time_ns()
    old = span_records(3, 4, now - 3 * DAY_NS, service="checkout")
    new = span_records(3, 4, now, service="checkout")
    other = span_records(3, 4, now - 3 * DAY_NS, service="cart")
    write_traces(spark, settings, old + new + other)
    victim = _spans(spark, settings).where("service_name = 'cart'").first().trace_id

    dry = delete_rows(spark, settings, DeleteRequest(trace_id=victim), dry_run=True)
    assert dry.rows == {"spans": 4, "trace_index": 1}
    assert _spans(spark, settings).count() == 36

    done = delete_rows(spark, settings, DeleteRequest(trace_id=victim))
    assert done.rows == {"spans": 4, "trace_index": 1}
    assert _spans(spark, settings).where(f"trace_id = '{victim}'").count() == 0
    assert _spans(spark, settings).count() == 32

    request = DeleteRequest.parse(None, "checkout", (time_day(now - DAY_NS)))
    done = delete_rows(spark, settings, request)
    assert done.rows == {"spans": 12}
    left = _spans(spark, settings).groupBy("service_name").count().collect()
    assert sorted((r[0], r[1]) for r in left) == [("cart", 8), ("checkout", 12)]

    history = spark.sql(
        f"DESCRIBE HISTORY delta.`{lake.table_path(settings, 'spans')}` LIMIT 1"
    ).first()
    assert json.loads(history.userMetadata) == {
        "otellake": "delete",
        "service": "checkout",
        "before": time_day(now - DAY_NS),
    }
    log = (settings.home / "maintenance" / "deletes.jsonl").read_text().splitlines()
    assert [json.loads(x)["dry_run"] for x in log] == [True, False, False]


def time_day(nanos: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(nanos / 1e9, UTC).date().isoformat()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trace-id", "XYZ"], "expected 32 lowercase hex digits"),
        (["--service", "cart"], "together with --before"),
        (["--service", "cart", "--before", "yesterday"], "expected a date"),
        (["--trace-id", "0" * 32, "--service", "cart"], "not both"),
    ],
)
def test_bad_requests_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["delete", *args])
    assert result.exit_code == 2
    assert message in result.output
