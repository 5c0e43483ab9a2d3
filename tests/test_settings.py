from pathlib import Path

import pytest
from pydantic import ValidationError

from otellake.settings import Settings, find_project_root

ROOT = Path(__file__).resolve().parent.parent

# The defaults pinned in docs/contract.md ("Settings").
PINNED_DEFAULTS = {
    "kafka_bootstrap": "127.0.0.1:9092",
    "kafka_controller_port": 9093,
    "topic_spans": "otlp_spans",
    "topic_logs": "otlp_logs",
    "topic_metrics": "otlp_metrics",
    "topic_partitions": 3,
    "otlp_grpc_port": 4317,
    "otlp_http_port": 4318,
    "collector_health_port": 13133,
    "collector_metrics_port": 8888,
    "encoding": "otlp_proto",
    "engine": "duckdb",
    "trigger": "5s",
    "max_offsets_per_trigger": None,
    "spark_master": "local[2]",
    "spark_master_port": 7077,
    "spark_ui_port": 8080,
    "max_value_bytes": 1048576,
    "max_record_bytes": 16777216,
    "attr_drop": (),
    "attr_hash": (),
    "retention_days": 30,
    "vacuum_hours": 168,
    "kafka_security_protocol": None,
}


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTELLAKE_CACHE", raising=False)  # the one variable tests keep
    s = Settings()
    for name, value in PINNED_DEFAULTS.items():
        assert getattr(s, name) == value, name
    assert s.home == ROOT / "var"
    assert s.lake == str(ROOT / "var" / "lake")
    assert s.cache == Path("~/.cache/otel-lake").expanduser()


def test_relative_paths_resolve_against_the_project_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert find_project_root() == ROOT
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OTELLAKE_HOME", "state")
    s = Settings()
    assert s.home == ROOT / "state"
    assert s.lake == str(ROOT / "state" / "lake")


def test_lake_uri_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELLAKE_LAKE", "s3a://bucket/lake")
    assert Settings().lake == "s3a://bucket/lake"


def test_env_overrides_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELLAKE_KAFKA_BOOTSTRAP", "127.0.0.1:19092,127.0.0.1:19093")
    monkeypatch.setenv("OTELLAKE_ATTR_DROP", "user.email, http.request.header.cookie")
    monkeypatch.setenv("OTELLAKE_MAX_OFFSETS_PER_TRIGGER", "5000")
    s = Settings()
    assert s.kafka_port == 19092
    assert s.attr_drop == ("user.email", "http.request.header.cookie")
    assert s.max_offsets_per_trigger == 5000
    assert s.topics == {"traces": "otlp_spans", "logs": "otlp_logs", "metrics": "otlp_metrics"}


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("OTELLAKE_KAFKA_BOOTSTRAP", "localhost", "bad Kafka bootstrap server 'localhost'"),
        ("OTELLAKE_TRIGGER", "5 parsecs", "bad duration '5 parsecs'"),
        ("OTELLAKE_ENCODING", "avro", "otlp_proto"),
        ("OTELLAKE_TOPIC_PARTITIONS", "0", "greater than or equal to 1"),
    ],
)
def test_bad_values_are_named(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_per_table_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELLAKE_RETENTION_DAYS_LOGS", "7")
    s = Settings()
    assert s.retention_days_for("logs") == 7
    assert s.retention_days_for("spans") == 30
    monkeypatch.setenv("OTELLAKE_RETENTION_DAYS_SPANS", "soon")
    with pytest.raises(ValueError, match="OTELLAKE_RETENTION_DAYS_SPANS='soon'"):
        s.retention_days_for("spans")
