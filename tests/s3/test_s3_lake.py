"""The lake on an S3-compatible endpoint (moto on loopback): Spark ingests through ``s3a://``
(tables and checkpoints in the bucket), the DuckDB engine reads the same tables through
delta-rs with the same endpoint settings, and both engines give the same answers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from otellake import object_store
from otellake.analytics import api
from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.analytics.queries import SpanFilter
from otellake.analytics.window import resolve_window
from otellake.generate.run import GenerateOptions, generate_records
from otellake.generate.simulate import Plan
from otellake.maintain import run_maintain
from otellake.settings import Settings
from otellake.spark_session import session_conf
from tests.generate.records import decode_all, span_rows
from tests.ingest.conftest import ingest_now, produce, read_table
from tests.s3.conftest import TEST_SECRET, MotoServer

SPANS = 300


def assert_same_rows(duck: list[dict[str, Any]], spark: list[dict[str, Any]]) -> None:
    """Same rows in the same order; counts exact, floats within 1e-9 relative."""
    assert len(duck) == len(spark) and duck, (duck, spark)
    for d, s in zip(duck, spark, strict=True):
        assert d.keys() == s.keys()
        for key, value in d.items():
            if isinstance(value, float) or isinstance(s[key], float):
                assert math.isclose(value, s[key], rel_tol=1e-9), (key, d, s)
            else:
                assert value == s[key], (key, d, s)


def test_session_conf_points_s3a_at_the_endpoint(s3_lake: Settings) -> None:
    conf = session_conf(s3_lake)
    assert conf["spark.hadoop.fs.s3a.endpoint"] == s3_lake.s3_endpoint
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "us-east-1"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"] == (
        object_store.ENV_CREDENTIALS_PROVIDER
    )
    assert any("hadoop-aws-3.5.0.jar" in j for j in conf["spark.jars"].split(","))
    assert not [v for v in conf.values() if TEST_SECRET in v]  # credentials stay in the env
    uri, options = object_store.delta_rs_location(s3_lake, f"{s3_lake.lake}/spans")
    assert uri == f"s3://{s3_lake.lake.removeprefix('s3a://')}/spans"
    assert options is not None
    assert options["AWS_ENDPOINT_URL"] == s3_lake.s3_endpoint
    assert (options["AWS_ALLOW_HTTP"], options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"]) == (
        "true",
        "false",
    )


def test_ingest_to_s3_then_both_engines_agree(
    s3_lake: Settings, moto_server: MotoServer, spark: Any
) -> None:
    settings = s3_lake
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    plan = Plan(int(start.timestamp()) * 10**9, 60 * 10**9, SPANS)
    values, result = generate_records(GenerateOptions(plan, seed=31))
    for signal in ("traces", "logs"):
        produce(settings, settings.topics[signal], [v for s, v in values if s == signal])
    expected = span_rows(decode_all(values)["traces"])
    assert len(expected) == result.spans == SPANS

    # The shared session was built before these settings existed: point S3A at moto.
    object_store.configure_session(spark, settings)
    ingest_now(spark, settings, signals=("traces", "logs"))

    # Tables and checkpoints are objects in the bucket.
    bucket = settings.lake.removeprefix("s3a://").split("/")[0]
    keys = moto_server.keys(bucket, "lake/")
    assert any(k.startswith("lake/spans/_delta_log/") for k in keys), keys[:20]
    assert any(k.startswith("lake/spans/date=") and k.endswith(".parquet") for k in keys)
    assert any(k.startswith("lake/_checkpoints/ingest_traces/offsets/") for k in keys), keys[:20]

    spans = read_table(spark, settings, "spans").select("trace_id", "span_id").collect()
    assert sorted((r.trace_id, r.span_id) for r in spans) == sorted(
        (e["trace_id"], e["span_id"]) for e in expected
    )
    index: dict[str, int] = {}
    for row in read_table(spark, settings, "trace_index").collect():
        index[row.trace_id] = index.get(row.trace_id, 0) + row.span_count
    per_trace: dict[str, int] = {}
    for e in expected:
        per_trace[e["trace_id"]] = per_trace.get(e["trace_id"], 0) + 1
    assert index == per_trace

    window = resolve_window(
        None,
        (start - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        (start + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    duck, on_spark = DuckDBEngine(settings), SparkEngine(spark, settings)
    for analysis, span_filter in (
        ("latency", SpanFilter(window)),
        ("latency", SpanFilter(window, by="operation")),
        ("errors", SpanFilter(window)),
        ("errors", SpanFilter(window, by="operation", bucket_s=60)),
    ):
        duck_rows = api.run(analysis, span_filter, duck).rows
        assert_same_rows(duck_rows, api.run(analysis, span_filter, on_spark).rows)
    server_spans = sum(1 for e in expected if e["kind"] in (2, 5))  # SERVER, CONSUMER
    latency = api.run("latency", SpanFilter(window), duck).rows
    assert sum(r["count"] for r in latency) == server_spans > 0

    # Maintenance on the S3 lake: compaction and VACUUM through s3a, the state via delta-rs.
    report = run_maintain(spark, settings, tables=["spans"])
    (spans_report,) = report["tables"]
    assert spans_report["before"]["rows"] == spans_report["after"]["rows"] == SPANS
    assert api.run("latency", SpanFilter(window), DuckDBEngine(settings)).rows == latency


def test_bad_endpoint_setting_names_the_value() -> None:
    with pytest.raises(
        ValidationError, match=r"bad S3 endpoint '127\.0\.0\.1:9000'; expected a URL"
    ):
        Settings(s3_endpoint="127.0.0.1:9000")
    assert Settings(s3_endpoint="").s3_endpoint is None
    assert Settings(s3_endpoint="https://s3.example.test/").s3_endpoint == "https://s3.example.test"
    assert not object_store.is_s3("/tmp/lake") and not object_store.is_s3("file:///tmp/lake")
    assert object_store.delta_rs_location(Settings(), "/tmp/lake/spans") == (
        "/tmp/lake/spans",
        None,
    )
