"""`otellake maintain`, `delete` and `replay-quarantine`: changing the lake's files and rows (the
work is done by ``otellake.maintain`` and ``otellake.fixes``; `jobs/maintain.py` runs
`maintain` under spark-submit with exactly these options)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from otellake.cli import output
from otellake.settings import load_settings

MAINTAIN_COLUMNS = (
    "table",
    "files",
    "bytes",
    "rows",
    "bytes/row",
    "TTL partitions",
    "compacted partitions",
    "vacuumed files",
)


def maintain(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would change; change nothing")
    ] = False,
    table: Annotated[
        list[str] | None, typer.Option(help="only this table (repeatable); default every table")
    ] = None,
    target_file_mb: Annotated[
        int, typer.Option(min=1, help="compaction's target file size, MiB")
    ] = 128,
    fmt: output.TableOrJsonOption = "table",
) -> None:
    """TTL per table (OTELLAKE_RETENTION_DAYS[_<TABLE>]), compaction per date partition (spans
    clustered by trace id), VACUUM (OTELLAKE_VACUUM_HOURS); files and bytes before/after."""
    from otellake.maintain import run_maintain
    from otellake.spark_session import build_spark_session

    checked = output.check_format(fmt, output.TABLE_OR_JSON)
    settings = load_settings()
    spark = build_spark_session(settings, app_name="otellake-maintain")
    result = run_maintain(
        spark,
        settings,
        tables=table or None,
        dry_run=dry_run,
        emit=output.progress,
        target_bytes=target_file_mb << 20,
    )
    output.render(checked, result, [], lambda: _show_maintain(result))


def _show_maintain(result: dict[str, Any]) -> None:
    """Before -> after per table, then what the trace-id lookup gained where it was measured."""
    title = "maintain (dry run: nothing changed)" if result["dry_run"] else "maintain"
    rows = []
    for t in result["tables"]:
        b, a = t["before"], t["after"]
        rows.append(
            [
                t["table"],
                f"{b['files']} -> {a['files']}",
                f"{_human_bytes(b['bytes'])} -> {_human_bytes(a['bytes'])}",
                f"{b['rows']} -> {a['rows']}",
                f"{b['bytes_per_row']} -> {a['bytes_per_row']}",
                str(len(t["ttl"]["partitions"])),
                f"{len(t['compaction']['partitions'])} ({t['compaction']['mode']})",
                str(t["vacuum"]["files"]),
            ]
        )
    output.table(MAINTAIN_COLUMNS, rows, title=title)
    for t in result["tables"]:
        lookup = t.get("lookup")
        if lookup and "after" in lookup:
            b, a = lookup["before"], lookup["after"]
            output.say(
                f"{t['table']}: trace-id lookup reads {b['files_admitting_id']}/{b['files']} -> "
                f"{a['files_admitting_id']}/{a['files']} files by Delta statistics; DuckDB "
                f"{b['duckdb_seconds']} s -> {a['duckdb_seconds']} s"
            )


def _human_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def delete(
    trace_id: Annotated[str | None, typer.Option(help="delete this trace (32 hex digits)")] = None,
    service: Annotated[str | None, typer.Option(help="delete this service's rows ...")] = None,
    before: Annotated[
        str | None, typer.Option(help="... dated before this day (YYYY-MM-DD)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count the rows that would go; delete nothing")
    ] = False,
    fmt: output.TableOrJsonOption = "table",
) -> None:
    """Delete a trace (spans, trace_index, logs) or a service's rows before a day (spans, logs,
    metrics) with Delta DELETE; logged, and the files go at the next VACUUM (`maintain`)."""
    from otellake.fixes import DeleteRequest, delete_rows
    from otellake.spark_session import build_spark_session

    checked = output.check_format(fmt, output.TABLE_OR_JSON)
    request = DeleteRequest.parse(trace_id, service, before)
    settings = load_settings()
    spark = build_spark_session(settings, app_name="otellake-delete")
    result = delete_rows(spark, settings, request, dry_run=dry_run, emit=output.progress)
    rows = [[table, str(n)] for table, n in result.rows.items()]
    title = "would delete" if dry_run else "deleted"
    output.render(
        checked, result.as_json(), [], lambda: output.table(["table", "rows"], rows, title=title)
    )


def replay_quarantine(
    reason: Annotated[
        str | None, typer.Option(help="only this reason, e.g. proto_decode or invalid_id")
    ] = None,
    since: Annotated[str | None, typer.Option(help="only rows quarantined in the last D")] = None,
    fmt: output.TableOrJsonOption = "table",
) -> None:
    """Re-ingest quarantined records (after a decoder fix), exactly once; the rows that now
    decode are marked replayed_at, those that still fail stay as they are."""
    from otellake.fixes import replay_quarantine as replay
    from otellake.spark_session import build_spark_session

    checked = output.check_format(fmt, output.TABLE_OR_JSON)
    settings = load_settings()
    spark = build_spark_session(settings, app_name="otellake-replay")
    result = replay(spark, settings, reason=reason, since=since, emit=output.progress)
    columns = ["signal", "records", "inserted", "marked replayed", "still quarantined"]
    rows = [
        [
            signal,
            str(r.records),
            ", ".join(f"{t} {n}" for t, n in r.inserted.items()),
            str(r.marked_replayed),
            str(r.still_quarantined),
        ]
        for signal, r in result.signals.items()
    ]
    output.render(checked, result.as_json(), [], lambda: output.table(columns, rows))
