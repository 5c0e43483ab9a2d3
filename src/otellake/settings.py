"""The one typed settings object: every ``OTELLAKE_*`` environment variable lives here.

Names and defaults are pinned in ``docs/contract.md``. Relative paths are resolved
once, at load time, against the project root when running from a checkout (the folder that
holds ``pyproject.toml``), else against the current directory, so that notebooks, jobs and the
CLI all find the same lake.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from otellake.durations import parse_duration

Encoding = Literal["otlp_proto", "otlp_json"]
Engine = Literal["duckdb", "spark"]
Signal = Literal["traces", "logs", "metrics"]
KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def find_project_root() -> Path | None:
    """The checkout this package runs from (``src/otellake`` -> repo root), if any."""
    candidate = _PACKAGE_DIR.parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "otel-collector").is_dir():
        return candidate
    return None


def _base_dir() -> Path:
    return find_project_root() or Path.cwd()


def has_scheme(path: str) -> bool:
    """True for URIs such as ``s3a://bucket/lake`` or ``file:///tmp/lake``."""
    return "://" in path


class Settings(BaseSettings):
    """All configuration, read from ``OTELLAKE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="OTELLAKE_", frozen=True, extra="ignore")

    home: Path = Field(Path("var"), description="pids, logs, broker data, progress files")
    lake: str = Field("", description="lake root (default $OTELLAKE_HOME/lake); URIs pass through")
    cache: Path = Field(
        Path("~/.cache/otel-lake"), description="downloaded jars, built Collector, by version"
    )
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    kafka_controller_port: int = Field(9093, description="local KRaft controller port")
    topic_spans: str = Field("otlp_spans", description="traces topic")
    topic_logs: str = Field("otlp_logs", description="logs topic")
    topic_metrics: str = Field("otlp_metrics", description="metrics topic")
    topic_partitions: int = Field(3, ge=1, description="partitions of topics that `up` creates")
    otlp_grpc_port: int = Field(4317, description="Collector OTLP/gRPC receiver port")
    otlp_http_port: int = Field(4318, description="Collector OTLP/HTTP receiver port")
    collector_health_port: int = Field(13133, description="Collector health_check port")
    collector_metrics_port: int = Field(8888, description="Collector's own metrics port")
    collector_bind_host: str = Field(
        "127.0.0.1", description="address the Collector listens on (0.0.0.0 only in containers)"
    )
    encoding: Encoding = Field("otlp_proto", description="Kafka record encoding, all topics")
    engine: Engine = Field("duckdb", description="analytics engine")
    trigger: str = Field("5s", description="streaming trigger interval")
    max_offsets_per_trigger: int | None = Field(None, ge=1, description="maxOffsetsPerTrigger")
    spark_master: str = Field("local[2]", description="Spark master URL")
    spark_master_port: int = Field(7077, description="`cluster up` master port")
    spark_ui_port: int = Field(8080, description="`cluster up` master web UI port")
    max_value_bytes: int = Field(1_048_576, ge=64, description="longer values are truncated")
    max_record_bytes: int = Field(
        16_777_216, ge=1024, description="larger Kafka records are quarantined as too_large"
    )
    attr_drop: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="attribute keys dropped at ingest (comma-separated)"
    )
    attr_hash: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="attribute keys replaced by SHA-256 hex at ingest (comma-separated)"
    )
    retention_days: int = Field(30, ge=1, description="TTL of every table (`maintain`)")
    vacuum_hours: int = Field(168, ge=0, description="VACUUM retention hours")
    dedup_window: str = Field(
        "10m",
        description="spans delivered twice within this window (processing time) land once; 0 off",
    )
    kafka_security_protocol: KafkaSecurityProtocol | None = Field(
        None, description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (Spark, Collector, clients)"
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    )
    kafka_username: str | None = Field(None, description="SASL user")
    kafka_password: SecretStr | None = Field(None, description="SASL password")
    kafka_ca_file: Path | None = Field(None, description="CA bundle for TLS")
    s3_endpoint: str | None = Field(
        None, description="S3-compatible endpoint URL of an s3a:// lake (unset: AWS S3)"
    )
    s3_region: str = Field("us-east-1", description="S3 region (signing region of the endpoint)")
    s3_path_style: bool = Field(
        False, description="path-style S3 URLs (most S3-compatible stores need true)"
    )

    @field_validator("attr_drop", "attr_hash", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("trigger")
    @classmethod
    def _check_trigger(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("dedup_window")
    @classmethod
    def _check_dedup_window(cls, value: str) -> str:
        if value.strip() != "0":
            parse_duration(value)
        return value

    @field_validator("s3_endpoint")
    @classmethod
    def _check_s3_endpoint(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"bad S3 endpoint {value!r}; expected a URL such as http://127.0.0.1:9000"
            )
        return value.rstrip("/")

    @field_validator("kafka_bootstrap")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(
                    f"bad Kafka bootstrap server {server!r} in {value!r}; expected host:port[,...]"
                )
        return value

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        base = _base_dir()

        def resolve(p: Path) -> Path:
            p = p.expanduser()
            return p if p.is_absolute() else (base / p).resolve()

        object.__setattr__(self, "home", resolve(self.home))
        object.__setattr__(self, "cache", resolve(self.cache))
        lake = self.lake or str(self.home / "lake")
        if not has_scheme(lake):
            lake = str(resolve(Path(lake)))
        object.__setattr__(self, "lake", lake)
        if self.kafka_ca_file is not None:
            object.__setattr__(self, "kafka_ca_file", resolve(self.kafka_ca_file))
        return self

    # ---- derived values -------------------------------------------------------------------

    @cached_property
    def kafka_port(self) -> int:
        """Port of the first bootstrap server: the port the local broker listens on."""
        return int(self.kafka_bootstrap.split(",")[0].rpartition(":")[2])

    @property
    def topics(self) -> dict[Signal, str]:
        """Signal name -> topic (each signal's definition names its topic setting)."""
        from otellake.signals import SIGNALS  # (signals reads these settings)

        return {name: signal.topic(self) for name, signal in SIGNALS.items()}

    def retention_days_for(self, table: str) -> int:
        """Per-table TTL: ``OTELLAKE_RETENTION_DAYS_<TABLE>`` overrides the default."""
        override = os.environ.get(f"OTELLAKE_RETENTION_DAYS_{table.upper()}")
        if override is None:
            return self.retention_days
        if not override.isdigit() or int(override) < 1:
            raise ValueError(
                f"OTELLAKE_RETENTION_DAYS_{table.upper()}={override!r}; expected whole days >= 1"
            )
        return int(override)


def env_var_for(field_name: str) -> str:
    return f"OTELLAKE_{field_name.upper()}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI options) on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
