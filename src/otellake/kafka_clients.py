"""Python Kafka clients (kafka-python) configured from the one settings object."""

from __future__ import annotations

import logging
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from otellake.errors import ServiceNotReady
from otellake.settings import Settings

# kafka-python logs every refused connection at ERROR while a broker is starting.
logging.getLogger("kafka").setLevel(logging.CRITICAL)


def client_config(settings: Settings) -> dict[str, Any]:
    """Bootstrap servers and, when set, the security options shared by every client."""
    config: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap.split(",")}
    if settings.kafka_security_protocol:
        config["security_protocol"] = settings.kafka_security_protocol
    if settings.kafka_sasl_mechanism:
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_username
        if settings.kafka_password is not None:
            config["sasl_plain_password"] = settings.kafka_password.get_secret_value()
    if settings.kafka_ca_file:
        config["ssl_cafile"] = str(settings.kafka_ca_file)
    return config


def admin(settings: Settings, timeout_ms: int = 5000) -> KafkaAdminClient:
    return KafkaAdminClient(
        **client_config(settings), request_timeout_ms=timeout_ms, client_id="otellake-admin"
    )


def producer(settings: Settings, **options: Any) -> KafkaProducer:
    return KafkaProducer(**client_config(settings), client_id="otellake-producer", **options)


def consumer(settings: Settings, *topics: str, **options: Any) -> KafkaConsumer:
    return KafkaConsumer(*topics, **client_config(settings), **options)


def broker_answers(settings: Settings) -> bool:
    """True once the broker answers a metadata request."""
    try:
        client = admin(settings, timeout_ms=3000)
    except (KafkaError, OSError):
        return False
    try:
        client.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        client.close()


def ensure_topics(settings: Settings, names: list[str], partitions: int) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    try:
        client = admin(settings)
    except KafkaError as exc:
        raise ServiceNotReady(
            f"Kafka at {settings.kafka_bootstrap} (OTELLAKE_KAFKA_BOOTSTRAP) did not answer: {exc}"
        ) from exc
    try:
        existing = set(client.list_topics())
        missing = [n for n in names if n not in existing]
        created = []
        for name in missing:
            try:
                client.create_topics([NewTopic(name, partitions, 1)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        client.close()
