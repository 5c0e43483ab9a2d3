"""`generate --mode collector`: the same telemetry as --mode kafka, through the OTel SDK and the
real Collector, arrives whole in Kafka."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from otellake import topic_peek
from otellake.cli import app
from otellake.generate.options import build_plan
from otellake.generate.run import GenerateOptions, generate_records
from otellake.settings import Settings
from tests.conftest import settings_env
from tests.generate.records import decode_all, log_rows, metric_points, span_rows

ARGS = ("--spans", "400", "--rate", "40", "--seed", "21", "--start", "2026-02-10T05:00:00Z")


def _ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 10**9


def _rows(signal: str, values: list[bytes], lo: int, hi: int) -> list[dict[str, Any]]:
    requests = decode_all([(signal, v) for v in values])[signal]
    if signal == "traces":
        return [r for r in span_rows(requests) if lo <= r["start"] < hi]
    if signal == "logs":
        rows = [r for r in log_rows(requests) if lo <= r["time"] < hi]
        for r in rows:  # the SDK writes an absent trace context as zero ids
            if not r["trace_id"].strip("0"):
                r["trace_id"] = r["span_id"] = ""
        return rows
    return [r for r in metric_points(requests) if lo <= r["time"] < hi]


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def test_collector_run_arrives_whole_and_equals_the_kafka_mode_records(
    stack: Settings, tmp_path: Path
) -> None:
    # what --mode kafka writes for the same options, decoded
    plan = build_plan(400, "40", None, "2026-02-10T05:00:00Z")
    values, expected = generate_records(GenerateOptions(plan, seed=21))
    want = {
        "traces": span_rows(decode_all(values)["traces"]),
        "logs": log_rows(decode_all(values)["logs"]),
        "metrics": metric_points(decode_all(values)["metrics"]),
    }
    start = {s: topic_peek.end_offsets(stack, t) for s, t in stack.topics.items()}
    truth_path = tmp_path / "truth.json"
    result = CliRunner().invoke(
        app,
        ["generate", "--mode", "collector", "--truth", str(truth_path), *ARGS],
        env=settings_env(stack),
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    truth = json.loads(truth_path.read_text())
    assert truth == expected.truth
    lo, hi = _ns(truth["window"]["from"]), _ns(truth["window"]["to"])
    for signal, topic in stack.topics.items():
        expected_rows = want[signal]

        def whole(got: list[bytes], signal: str = signal, n: int = len(expected_rows)) -> bool:
            return len(_rows(signal, got, lo, hi)) >= n

        # the Collector batches on its own schedule: poll until everything is there
        got = topic_peek.read_until(stack, topic, start[signal], whole, timeout_s=60)
        rows = _rows(signal, got, lo, hi)
        assert len(rows) == len(expected_rows), signal
        assert sorted(map(_key, rows)) == sorted(map(_key, expected_rows)), signal
    assert len(want["traces"]) == truth["tables"]["spans"] == 400
    assert len(want["logs"]) == truth["tables"]["logs"]
