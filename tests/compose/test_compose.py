"""docker-compose.yml agrees with the local stack: services, loopback-only ports, topics, env
names and image versions. No Docker engine is needed (none runs in CI): the file is parsed and
compared with the settings, the Collector manifest and the broker's pom, so a change on one
side that the other misses fails here instead of in a user's `docker compose up`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from otellake.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DEFAULTS = Settings()
INTERNAL_BOOTSTRAP = "kafka:19092"


def _published(service: str) -> dict[int, int]:
    """container port -> host port, each checked to be on loopback."""
    ports = {}
    for spec in SERVICES[service].get("ports", []):
        parts = str(spec).split(":")
        assert len(parts) == 3, (
            f"{service} publishes {spec!r} on every interface; expected 127.0.0.1:HOST:CONTAINER"
        )
        host_ip, host_port, container_port = parts
        assert host_ip == "127.0.0.1", f"{service} publishes {spec!r} beyond loopback"
        ports[int(container_port)] = int(host_port)
    return ports


def _image_tag(service: str) -> str:
    return str(SERVICES[service]["image"]).rpartition(":")[2]


def test_the_whole_pipeline_is_there() -> None:
    assert set(SERVICES) == {"kafka", "kafka-topics", "collector", "ingest", "jupyter"}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_published_port_is_on_loopback(service: str) -> None:
    _published(service)  # asserts the address of each


def test_host_ports_are_unique() -> None:
    host_ports = [p for s in SERVICES for p in _published(s).values()]
    assert len(host_ports) == len(set(host_ports)), host_ports


def test_ports_match_the_settings_defaults() -> None:
    s = DEFAULTS
    assert _published("kafka") == {s.kafka_port: s.kafka_port}
    assert _published("collector") == {
        p: p
        for p in (
            s.otlp_grpc_port,
            s.otlp_http_port,
            s.collector_health_port,
            s.collector_metrics_port,
        )
    }
    assert (s.otlp_grpc_port, s.otlp_http_port, s.kafka_port) == (4317, 4318, 9092)
    assert s.collector_health_port == 13133
    # Jupyter's own 8888 would collide with the Collector's metrics port on the host.
    assert list(_published("jupyter")) == [8888]
    assert _published("jupyter")[8888] != s.collector_metrics_port


def test_topics_created_equal_the_settings_topics() -> None:
    command = " ".join(SERVICES["kafka-topics"]["command"])
    loop = re.search(r"for t in ([^;]+);", command)
    assert loop, command
    assert set(loop.group(1).split()) == set(DEFAULTS.topics.values())
    assert f"--partitions {DEFAULTS.topic_partitions}" in command
    assert SERVICES["kafka"]["environment"]["KAFKA_NUM_PARTITIONS"] == str(
        DEFAULTS.topic_partitions
    )
    for service in ("collector", "ingest"):
        env = SERVICES[service]["environment"]
        assert {env[f"OTELLAKE_TOPIC_{k}"] for k in ("SPANS", "LOGS", "METRICS")} == set(
            DEFAULTS.topics.values()
        ), service


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_env_names_are_settings_and_values_valid(service: str) -> None:
    env = {
        k: str(v)
        for k, v in (SERVICES[service].get("environment") or {}).items()
        if k.startswith("OTELLAKE_")
    }
    fields = {k.removeprefix("OTELLAKE_").lower(): v for k, v in env.items()}
    unknown = sorted(f"OTELLAKE_{f.upper()}" for f in fields if f not in Settings.model_fields)
    assert not unknown, f"{service} passes env names that Settings does not read: {unknown}"
    Settings(**fields)  # type: ignore[arg-type]  # each value is one Settings accepts


def test_pipeline_services_share_the_broker_and_the_lake() -> None:
    advertised = SERVICES["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"//{INTERNAL_BOOTSTRAP}" in advertised
    for service in ("collector", "ingest"):
        env = SERVICES[service]["environment"]
        assert env["OTELLAKE_KAFKA_BOOTSTRAP"] == INTERNAL_BOOTSTRAP, service
        assert env["OTELLAKE_ENCODING"] == SERVICES["collector"]["environment"]["OTELLAKE_ENCODING"]
    assert SERVICES["ingest"]["command"][:2] == ["otellake", "ingest"]
    lake = SERVICES["ingest"]["environment"]["OTELLAKE_LAKE"]
    assert SERVICES["jupyter"]["environment"]["OTELLAKE_LAKE"] == lake
    for service in ("ingest", "jupyter"):
        assert f"lake:{lake}" in SERVICES[service]["volumes"], service
    assert "lake" in COMPOSE["volumes"]


def test_ingest_and_jupyter_build_the_repositorys_dockerfile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for service in ("ingest", "jupyter"):
        assert SERVICES[service]["build"] == "."
    assert SERVICES["ingest"]["image"] == SERVICES["jupyter"]["image"]
    uv_version = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert uv_version and f"uv=={uv_version.group(1)}" in dockerfile
    assert "uv sync --frozen" in dockerfile  # the locked dependencies, like `make setup`
    jupyter = SERVICES["jupyter"]
    assert "./notebooks:/opt/otel-lake/notebooks" in jupyter["volumes"]
    assert "--notebook-dir=/opt/otel-lake/notebooks" in jupyter["command"]


def test_collector_runs_our_config_in_the_version_we_build() -> None:
    collector = SERVICES["collector"]
    (mount,) = [v for v in collector["volumes"] if v.startswith("./otel-collector/config.yaml:")]
    target = mount.split(":")[1]
    assert collector["command"] == [f"--config={target}"]
    assert str(collector["image"]).startswith("otel/opentelemetry-collector-contrib:")
    manifest = yaml.safe_load((ROOT / "otel-collector" / "builder-config.yaml").read_text())
    assert _image_tag("collector") == manifest["dist"]["version"]
    env = collector["environment"]
    assert int(env["OTELLAKE_OTLP_GRPC_PORT"]) == DEFAULTS.otlp_grpc_port
    assert int(env["OTELLAKE_COLLECTOR_HEALTH_PORT"]) == DEFAULTS.collector_health_port
    assert env["OTELLAKE_COLLECTOR_BIND_HOST"] == "0.0.0.0"  # inside its container only


def test_kafka_image_is_the_brokers_pom_version() -> None:
    pom = ET.parse(ROOT / "jvm" / "kafka" / "pom.xml").getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = pom.findtext("m:properties/m:kafka.version", namespaces=ns)
    assert version
    for service in ("kafka", "kafka-topics"):
        assert SERVICES[service]["image"] == f"apache/kafka:{version}", service
