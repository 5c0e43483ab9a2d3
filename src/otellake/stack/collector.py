"""The OpenTelemetry Collector built by `make setup`, configured from the settings."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from otellake import kafka_security, provision
from otellake.settings import Settings
from otellake.stack.processes import ServiceFiles

NAME = "collector"


def files(settings: Settings) -> ServiceFiles:
    return ServiceFiles(NAME, settings.home)


def config_path(settings: Settings) -> Path:
    """The rendered config; also the marker that identifies our Collector process."""
    return settings.home / "collector" / "config.yaml"


def render_config(settings: Settings) -> str:
    """``otel-collector/config.yaml`` with the settings' broker list filled in, plus the kafka
    exporter's ``auth`` / ``tls`` blocks when Kafka security is set.

    The remaining ``${env:OTELLAKE_*}`` references (the password among them) resolve from
    :func:`environment`: the rendered file never holds the password.
    """
    template = yaml.safe_load(provision.project_file("otel-collector/config.yaml").read_text())
    kafka = template["exporters"]["kafka"]
    kafka["brokers"] = [s.strip() for s in settings.kafka_bootstrap.split(",")]
    kafka.update(kafka_security.client_options(settings).collector)
    # Record the values the ${env:...} references resolve to, so that a changed setting
    # shows up as a changed file (see `up`).
    header = "".join(f"# {k}={v}\n" for k, v in sorted(_values(settings).items()))
    return header + yaml.safe_dump(template, sort_keys=False)


def environment(settings: Settings) -> dict[str, str]:
    """The values config.yaml reads, taken from the settings (not the caller's env)."""
    return {**os.environ, **_values(settings), **kafka_security.client_options(settings).env}


def _values(settings: Settings) -> dict[str, str]:
    return {
        "OTELLAKE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "OTELLAKE_TOPIC_SPANS": settings.topic_spans,
        "OTELLAKE_TOPIC_LOGS": settings.topic_logs,
        "OTELLAKE_TOPIC_METRICS": settings.topic_metrics,
        "OTELLAKE_ENCODING": settings.encoding,
        "OTELLAKE_OTLP_GRPC_PORT": str(settings.otlp_grpc_port),
        "OTELLAKE_OTLP_HTTP_PORT": str(settings.otlp_http_port),
        "OTELLAKE_COLLECTOR_HEALTH_PORT": str(settings.collector_health_port),
        "OTELLAKE_COLLECTOR_METRICS_PORT": str(settings.collector_metrics_port),
        "OTELLAKE_COLLECTOR_BIND_HOST": settings.collector_bind_host,
    }


def write_config(settings: Settings) -> Path:
    path = config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_config(settings))
    return path


def start_command(settings: Settings) -> list[str]:
    return [str(provision.collector_binary(settings)), f"--config={config_path(settings)}"]


def ready(settings: Settings) -> bool:
    """The health_check extension answers 200 once every pipeline has started."""
    url = f"http://127.0.0.1:{settings.collector_health_port}/"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False
