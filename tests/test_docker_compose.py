"""docker-compose.yml parses and agrees with the local stack's ports, topics and env."""

from pathlib import Path

import yaml

from otellake.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _published(service: str) -> dict[int, int]:
    ports = {}
    for spec in COMPOSE["services"][service]["ports"]:
        host, host_port, container_port = spec.split(":")
        assert host == "127.0.0.1", f"{service} publishes {spec} beyond loopback"
        ports[int(container_port)] = int(host_port)
    return ports


def test_services_present() -> None:
    assert {"kafka", "collector"} <= set(COMPOSE["services"])
    assert COMPOSE["services"]["kafka"]["image"].startswith("apache/kafka:4.")
    assert COMPOSE["services"]["collector"]["image"].startswith(
        "otel/opentelemetry-collector-contrib:0.165."
    )


def test_ports_match_local_defaults() -> None:
    s = Settings()
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


def test_collector_uses_our_config_and_topics() -> None:
    s = Settings()
    collector = COMPOSE["services"]["collector"]
    assert "./otel-collector/config.yaml:/etc/otellake/config.yaml:ro" in collector["volumes"]
    env = collector["environment"]
    assert env["OTELLAKE_TOPIC_SPANS"] == s.topic_spans
    assert env["OTELLAKE_TOPIC_LOGS"] == s.topic_logs
    assert env["OTELLAKE_TOPIC_METRICS"] == s.topic_metrics
    assert env["OTELLAKE_ENCODING"] == s.encoding
    assert int(env["OTELLAKE_OTLP_GRPC_PORT"]) == s.otlp_grpc_port
    topics_cmd = " ".join(COMPOSE["services"]["kafka-topics"]["command"])
    for topic in s.topics.values():
        assert topic in topics_cmd
    assert f"--partitions {s.topic_partitions}" in topics_cmd
