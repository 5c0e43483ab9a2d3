"""The generator without services: determinism, record structure, OTLP/JSON, the truth."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from otellake.cli import app
from otellake.generate.options import build_plan
from otellake.generate.otlp_json import to_otlp_json
from otellake.generate.run import GenerateOptions, GenerateResult, generate_records
from otellake.generate.simulate import Plan
from tests.generate.records import (
    assert_rows_equal,
    decode_all,
    log_rows,
    metric_points,
    points_per_table,
    span_rows,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
START_NS = int(START.timestamp()) * 10**9
SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5


def plan(spans: int, seconds: float = 120.0) -> Plan:
    return Plan(START_NS, int(seconds * 1e9), spans)


@cache
def run(spans: int, seed: int = 5, encoding: str = "otlp_proto") -> tuple[Any, GenerateResult]:
    values, result = generate_records(
        GenerateOptions(plan(spans), encoding=encoding, seed=seed)  # type: ignore[arg-type]
    )
    return values, result


@cache
def decoded(spans: int) -> dict[str, Any]:
    values, result = run(spans)
    requests = decode_all(values)
    return {
        "requests": requests,
        "spans": span_rows(requests["traces"]),
        "logs": log_rows(requests["logs"]),
        "points": metric_points(requests["metrics"]),
        "truth": result.truth,
    }


def test_same_seed_same_records_and_truth() -> None:
    a_values, a = generate_records(GenerateOptions(plan(4000), seed=11))
    b_values, b = generate_records(GenerateOptions(plan(4000), seed=11))
    assert a_values == b_values
    assert a.truth == b.truth
    c_values, c = generate_records(GenerateOptions(plan(4000), seed=12))
    assert c_values != a_values and c.truth != a.truth
    assert c.truth["tables"]["spans"] == a.truth["tables"]["spans"] == 4000


def test_exactly_n_spans_in_requests_of_at_most_1000() -> None:
    _values, result = run(20_000)
    requests = decoded(20_000)["requests"]
    counts = [
        sum(len(ss.spans) for rs in r.resource_spans for ss in rs.scope_spans)
        for r in requests["traces"]
    ]
    assert sum(counts) == 20_000 == result.spans
    assert max(counts) == 1000
    assert result.records["traces"] == len(counts) == 20


def test_each_request_holds_several_resources_and_scopes() -> None:
    requests = decoded(20_000)["requests"]
    for signal, resources, scopes in (
        ("traces", "resource_spans", "scope_spans"),
        ("logs", "resource_logs", "scope_logs"),
        ("metrics", "resource_metrics", "scope_metrics"),
    ):
        for request in requests[signal]:
            groups = getattr(request, resources)
            names = [
                next(a.value.string_value for a in g.resource.attributes if a.key == "service.name")
                for g in groups
            ]
            assert len(groups) >= 5, signal
            assert len(set(names)) >= 5, signal
            assert max(len(getattr(g, scopes)) for g in groups) >= 2, signal
    # 9 services, each instance its own resource
    spans = decoded(20_000)["spans"]
    assert {s["service_name"] for s in spans} == {
        "frontend", "checkout", "cart", "payment", "currency", "shipping", "product-catalog",
        "recommendation", "accounting",
    }  # fmt: skip
    assert len({s["resource"]["service.instance.id"] for s in spans}) == 12


def test_request_trees_client_server_pairs_and_semconv() -> None:
    spans = decoded(20_000)["spans"]
    by_id = {s["span_id"]: s for s in spans}
    assert len(by_id) == len(spans)
    roots = [s for s in spans if not s["parent_span_id"]]
    assert roots and all(s["kind"] == SERVER and s["service_name"] == "frontend" for s in roots)
    children: Counter[str] = Counter(s["parent_span_id"] for s in spans)
    assert max(children.values()) >= 5  # fan-out
    for s in spans:
        assert len(s["trace_id"]) == 32 and len(s["span_id"]) == 16
        if not s["parent_span_id"]:
            continue
        parent = by_id[s["parent_span_id"]]  # even the last, cut request keeps every parent
        assert parent["trace_id"] == s["trace_id"]
        if s["kind"] == SERVER:
            # the callee's SERVER span hangs under the caller's CLIENT span, in another service
            assert parent["kind"] == CLIENT
            assert parent["service_name"] != s["service_name"]
            assert parent["span_name"] == s["span_name"] or parent["span_name"] == "POST"
            assert s["flags"] == 0x300
        if s["kind"] == CONSUMER:
            assert parent["kind"] == PRODUCER and parent["end"] <= s["start"]
        else:
            assert parent["start"] <= s["start"] <= s["end"] <= parent["end"], s
    db = [s for s in spans if s["attributes"].get("db.system.name") == "postgresql"]
    cache_spans = [s for s in spans if s["attributes"].get("db.system.name") == "redis"]
    assert db and cache_spans
    for s in db + cache_spans:
        assert (
            s["kind"] == CLIENT
            and s["attributes"]["db.system"] == s["attributes"]["db.system.name"]
        )
        assert {"server.address", "db.operation.name"} <= set(s["attributes"])
        assert by_id[s["parent_span_id"]]["service_name"] == s["service_name"]
    http = [s for s in spans if s["kind"] == SERVER and "http.route" in s["attributes"]]
    assert {"http.request.method", "http.response.status_code"} <= set(http[0]["attributes"])
    rpc = [s for s in spans if s["attributes"].get("rpc.system") == "grpc"]
    assert {"rpc.service", "rpc.method"} <= set(rpc[0]["attributes"])


def test_errors_exceptions_and_matching_logs() -> None:
    data = decoded(20_000)
    spans, logs = data["spans"], data["logs"]
    by_id = {s["span_id"]: s for s in spans}
    errors = [s for s in spans if s["status_code"] == 2]
    assert errors
    with_exception = [s for s in spans if s["events"]]
    assert with_exception
    for s in with_exception:
        (at, name, attrs) = s["events"][0]
        assert name == "exception" and s["start"] <= at <= s["end"]
        assert set(attrs) == {"exception.type", "exception.message", "exception.stacktrace"}
        assert attrs["exception.stacktrace"].startswith(attrs["exception.type"])
    # 5xx SERVER spans whose status stays UNSET: only the 5xx rule makes them errors
    unset_5xx = [
        s
        for s in spans
        if s["kind"] == SERVER
        and s["status_code"] == 0
        and s["attributes"].get("http.response.status_code", 0) >= 500
    ]
    assert unset_5xx
    error_logs = [r for r in logs if r["severity_number"] >= 17]
    assert len(error_logs) == len(with_exception)
    for r in error_logs:
        span = by_id[r["span_id"]]
        assert r["trace_id"] == span["trace_id"] and span["events"]
        assert r["severity_number"] == 17 and r["severity_text"] == "ERROR"
        assert r["attributes"]["exception.type"] == span["events"][0][2]["exception.type"]
        assert r["time"] == span["events"][0][0] < r["observed"]  # logged when thrown
    assert {r["severity_number"] for r in logs} >= {5, 9, 13, 17}
    bodies = " ".join(r["body"] for r in logs)
    assert '"' in bodies and "-4" in bodies  # quoted strings, uuids
    assert any(r["trace_id"] == "" for r in logs)  # runtime logs without trace context


def test_metrics_types_and_temporality() -> None:
    points = decoded(20_000)["points"]
    names = {(p["name"], p["type"]) for p in points}
    assert {
        ("http.server.request.duration", "histogram"),
        ("rpc.server.call.duration", "histogram"),
        ("app.server.request.duration", "exponential_histogram"),
        ("app.server.requests", "sum"),
        ("app.server.errors", "sum"),
        ("process.cpu.utilization", "gauge"),
        ("process.memory.usage", "gauge"),
        ("app.server.latency", "summary"),
    } <= names
    http = [p for p in points if p["name"] == "http.server.request.duration"]
    assert all(p["unit"] == "s" for p in http)
    requests = decoded(20_000)["requests"]["metrics"]
    sums = {
        m.name: m.sum
        for r in requests
        for rm in r.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.WhichOneof("data") == "sum"
    }
    assert sums["app.server.requests"].aggregation_temporality == 2  # cumulative
    assert sums["app.server.errors"].aggregation_temporality == 1  # delta
    assert all(s.is_monotonic for s in sums.values())
    # cumulative request counters never decrease, per instance
    last: dict[str, int] = {}
    for p in sorted(
        (p for p in points if p["name"] == "app.server.requests"), key=lambda p: p["time"]
    ):
        assert p["value"] >= last.get(p["instance"], 0)
        last[p["instance"]] = p["value"]


def _latency_row(durations: list[int]) -> dict[str, Any]:
    values = sorted(float(d) for d in durations)
    # statistics.quantiles 'inclusive' is linear interpolation between order statistics
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {
        "count": len(values),
        "mean_ms": statistics.fmean(values) / 1e6,
        "max_ms": values[-1] / 1e6,
        "p50_ms": q[49] / 1e6,
        "p90_ms": q[89] / 1e6,
        "p95_ms": q[94] / 1e6,
        "p99_ms": q[98] / 1e6,
    }


def test_truth_matches_an_independent_count_of_the_records() -> None:
    data = decoded(20_000)
    spans, logs, truth = data["spans"], data["logs"], data["truth"]
    assert truth["tables"] == {
        "spans": len(spans),
        "logs": len(logs),
        **points_per_table(data["requests"]["metrics"]),
    }
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    errors: Counter[tuple[str, str]] = Counter()
    for s in spans:
        if s["kind"] not in (SERVER, CONSUMER):
            continue
        key = (s["service_name"], s["span_name"])
        groups[key].append(s["end"] - s["start"])
        code = s["attributes"].get("http.response.status_code")
        if s["status_code"] == 2 or (s["kind"] == SERVER and code and 500 <= code <= 599):
            errors[key] += 1
    expected_ops = [
        {"service_name": s, "span_name": n, **_latency_row(groups[(s, n)])}
        for s, n in sorted(groups)
    ]
    assert_rows_equal(truth["latency"]["by_operation"], expected_ops)
    services = sorted({s for s, _ in groups})
    expected_services = [
        {
            "service_name": svc,
            **_latency_row([d for (s, _), v in groups.items() if s == svc for d in v]),
        }
        for svc in services
    ]
    assert_rows_equal(truth["latency"]["by_service"], expected_services)
    error_logs = Counter(r["service_name"] for r in logs if r["severity_number"] >= 17)
    expected_errors = []
    for svc in services:
        n = sum(len(v) for (s, _), v in groups.items() if s == svc)
        e = sum(c for (s, _), c in errors.items() if s == svc)
        expected_errors.append(
            {"service_name": svc, "spans": n, "error_spans": e, "error_rate": e / n,
             "error_logs": error_logs[svc]}
        )  # fmt: skip
    assert_rows_equal(truth["errors"]["by_service"], expected_errors)
    assert sum(r["error_spans"] for r in truth["errors"]["by_operation"]) == sum(errors.values())
    assert sum(errors.values()) > 0
    # every record lies in the truth's window
    lo = datetime.fromisoformat(truth["window"]["from"]).timestamp() * 1e9
    hi = datetime.fromisoformat(truth["window"]["to"]).timestamp() * 1e9
    assert all(lo <= s["start"] < hi for s in spans)
    assert all(lo <= r["time"] < hi for r in logs)
    assert all(lo <= p["time"] < hi for p in data["points"])


def test_incidents_show_in_the_spans() -> None:
    data = decoded(20_000)
    incidents = {i["kind"]: i for i in data["truth"]["incidents"]}
    assert set(incidents) == {"latency", "errors"}

    def ns(text: str) -> float:
        return datetime.fromisoformat(text).timestamp() * 1e9

    slow = incidents["latency"]
    lo, hi = ns(slow["from"]), ns(slow["to"])
    roots = {s["trace_id"]: s["start"] for s in data["spans"] if not s["parent_span_id"]}
    inside, outside = [], []
    for s in data["spans"]:
        if s["service_name"] == slow["service_name"] and s["kind"] == SERVER:
            arrival = roots.get(s["trace_id"], s["start"])
            (inside if lo <= arrival < hi else outside).append(s["end"] - s["start"])
    assert statistics.median(inside) > 2.5 * statistics.median(outside)


def test_json_records_are_the_proto_records_in_otlp_json() -> None:
    proto_values, proto = run(3000)
    json_values, result = run(3000, encoding="otlp_json")
    assert [s for s, _ in json_values] == [s for s, _ in proto_values]
    assert result.truth == proto.truth
    for (signal, pv), (_, jv) in zip(proto_values, json_values, strict=True):
        document = json.loads(jv)
        message = decode_all([(signal, pv)])[signal][0]
        assert document == to_otlp_json(message), signal
    traces = next(v for signal, v in json_values if signal == "traces")
    first = json.loads(traces)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(first["traceId"]) == 32 and isinstance(first["startTimeUnixNano"], str)
    assert isinstance(first["kind"], int)


# ---- the plan and the command line ----------------------------------------------------


def test_plan_from_spans_rate_and_duration() -> None:
    now = datetime(2026, 5, 1, 10, 0, 0, 250_000, tzinfo=UTC)
    p = build_plan(500, None, None, None, now=now)
    assert (p.spans, p.duration_ns, p.start_ns) == (500, 5 * 10**9, int(now.timestamp()) * 10**9)
    p = build_plan(None, "200", "1m", "2026-04-01T00:00:00Z", now=now)
    assert (p.spans, p.duration_ns) == (12_000, 60 * 10**9)
    assert p.start_ns == int(datetime(2026, 4, 1, tzinfo=UTC).timestamp()) * 10**9
    p = build_plan(1000, "50", None, None, now=now)
    assert p.duration_ns == 20 * 10**9
    p = build_plan(1000, None, "2h", "2026-04-01T00:00:00Z", now=now)
    assert p.duration_ns == 7200 * 10**9
    assert build_plan(None, None, None, None, now=now).spans == 6000


runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "file"], "--mode 'file'; expected one of ['kafka', 'collector']"),
        (["--encoding", "avro"], "--encoding 'avro'; expected one of ['otlp_proto', 'otlp_json']"),
        (["--rate", "fast", "--duration", "1m"], "--rate 'fast'; expected spans per second"),
        (["--rate", "0"], "--rate '0'; expected spans per second, a number > 0"),
        (["--start", "yesterday"], "--start 'yesterday'; expected an ISO-8601 time"),
        (["--duration", "soon"], "--duration: bad duration 'soon'"),
        (["--spans", "10", "--rate", "5", "--duration", "1s"], "at most two of --spans"),
        (["--mode", "collector", "--encoding", "otlp_json"], "--encoding 'otlp_json' with --mode"),
        (["--start", "2099-01-01T00:00:00Z"], "more than a day from now"),
        (["--spans", "0"], "--spans 0; expected a whole number >= 1"),
    ],
)
def test_bad_input_names_the_value(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["generate", *args], terminal_width=400)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_unreachable_broker_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["generate", "--spans", "10"],
        env={"OTELLAKE_KAFKA_BOOTSTRAP": "127.0.0.1:9", "OTELLAKE_HOME": str(tmp_path)},
        terminal_width=400,
    )
    assert result.exit_code == 1
    assert "no Kafka broker at 127.0.0.1:9 (OTELLAKE_KAFKA_BOOTSTRAP)" in " ".join(
        result.output.split()
    )


def test_start_is_now_by_default_and_backdating_works() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    p = build_plan(100, None, None, None)
    assert (
        before.timestamp() * 1e9 <= p.start_ns <= (before + timedelta(seconds=2)).timestamp() * 1e9
    )
    p = build_plan(None, "10", "6h", "2026-01-01T00:00:00Z")
    assert p.spans == 216_000
