"""Fixing mistakes in the lake: delete a trace or a service's old data (logged), and replay
quarantined records after a decoder fix (exactly once, marked ``replayed_at``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otellake import lake
from otellake.errors import BadInput
from otellake.maintain import lake_tables
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

Emit = Callable[[str], None]
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
# Tables holding a trace's rows, and those holding a service's rows.
TRACE_TABLES = ("spans", "trace_index", "logs")
SERVICE_TABLES = (
    "spans",
    "logs",
    "metrics_gauge",
    "metrics_sum",
    "metrics_histogram",
    "metrics_exp_histogram",
    "metrics_summary",
)


@dataclass(frozen=True)
class DeleteRequest:
    trace_id: str | None = None
    service: str | None = None
    before: date | None = None

    @classmethod
    def parse(cls, trace_id: str | None, service: str | None, before: str | None) -> DeleteRequest:
        if trace_id is not None:
            if service is not None or before is not None:
                raise BadInput("give either --trace-id, or --service with --before; not both")
            if not TRACE_ID.match(trace_id):
                raise BadInput(f"trace id {trace_id!r}; expected 32 lowercase hex digits")
            return cls(trace_id=trace_id)
        if service is None or before is None:
            raise BadInput("give --trace-id ID, or --service S together with --before DATE")
        try:
            day = date.fromisoformat(before)
        except ValueError:
            raise BadInput(f"--before {before!r}; expected a date like 2026-11-01") from None
        return cls(service=service, before=day)

    def tables(self) -> tuple[str, ...]:
        return TRACE_TABLES if self.trace_id else SERVICE_TABLES

    def predicate(self) -> Column:
        """Rows to delete, as a Column (user values are literals, never SQL text)."""
        from pyspark.sql import functions as F

        if self.trace_id:
            return F.col("trace_id") == F.lit(self.trace_id)
        assert self.service is not None and self.before is not None
        return (F.col("service_name") == F.lit(self.service)) & (F.col("date") < F.lit(self.before))

    def describe(self) -> dict[str, Any]:
        if self.trace_id:
            return {"trace_id": self.trace_id}
        return {"service": self.service, "before": str(self.before)}


def audit_log(settings: Settings) -> Path:
    return settings.home / "maintenance" / "deletes.jsonl"


def delete_rows(
    spark: SparkSession,
    settings: Settings,
    request: DeleteRequest,
    *,
    dry_run: bool = False,
    emit: Emit = lambda _m: None,
) -> dict[str, Any]:
    """Delta DELETE of the request's rows in each table that has them; the files go at the next
    VACUUM. Each commit carries the request as its ``userMetadata`` (see `DESCRIBE HISTORY`),
    and a line is appended to ``$OTELLAKE_HOME/maintenance/deletes.jsonl``."""
    from delta.tables import DeltaTable

    present = set(lake_tables(settings))
    counts: dict[str, int] = {}
    versions: dict[str, int] = {}
    note = json.dumps({"otellake": "delete", **request.describe()})
    for table in request.tables():
        if table not in present:
            continue
        path = lake.table_path(settings, table)
        if dry_run:
            counts[table] = spark.read.format("delta").load(path).where(request.predicate()).count()
            continue
        spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", note)
        try:
            delta = DeltaTable.forPath(spark, path)
            delta.delete(request.predicate())
            last = delta.history(1).select("version", "operation", "operationMetrics").first()
        finally:
            spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")
        if last is not None and last.operation == "DELETE":
            counts[table] = int((last.operationMetrics or {}).get("numDeletedRows", 0))
            versions[table] = int(last.version)
        else:  # nothing matched: Delta commits nothing
            counts[table] = 0
    result = {
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dry_run": dry_run,
        "request": request.describe(),
        "rows": counts,
        "versions": versions,
    }
    emit(
        f"{'would delete' if dry_run else 'deleted'} "
        + ", ".join(f"{n} rows from {t}" for t, n in counts.items())
        + (" (the files go at the next VACUUM)" if not dry_run else "")
    )
    log = audit_log(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as f:
        f.write(json.dumps(result) + "\n")
    return result
