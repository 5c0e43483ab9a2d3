"""Python Kafka clients (kafka-python) configured from the one settings object."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from otellake import kafka_login, kafka_security
from otellake.errors import OtelLakeError, ServiceNotReady
from otellake.settings import Settings

# kafka-python logs every refused connection at ERROR while a broker is starting.
logging.getLogger("kafka").setLevel(logging.CRITICAL)
PREFLIGHT_TIMEOUT_S = 10.0


class KafkaAuthError(OtelLakeError):
    """The brokers refused our SASL credentials (or TLS handshake): retrying will not help."""


def auth_error(settings: Settings, reason: str) -> KafkaAuthError:
    """The one wording of an authentication failure, whichever client met it."""
    return KafkaAuthError(
        f"Kafka at {settings.kafka_bootstrap} (OTELLAKE_KAFKA_BOOTSTRAP): authentication failed "
        f"for user {settings.kafka_username!r} with {settings.kafka_security_protocol} "
        f"{settings.kafka_sasl_mechanism or ''}; check OTELLAKE_KAFKA_USERNAME, "
        f"OTELLAKE_KAFKA_PASSWORD and OTELLAKE_KAFKA_SASL_MECHANISM. The broker said: {reason}"
    )


@contextmanager
def _auth_failures_raised(settings: Settings) -> Iterator[None]:
    """A client that could not bootstrap because the brokers refused its login raises
    :class:`KafkaAuthError` (kafka-python itself only says "Unable to bootstrap")."""
    try:
        yield
    except KafkaError:
        if settings.kafka_security_protocol not in (None, "PLAINTEXT"):
            with contextlib.suppress(OSError):
                reason = kafka_login.refusal(settings, timeout_s=5.0)
                if reason is not None:
                    raise auth_error(settings, reason) from None
        raise


def client_config(settings: Settings) -> dict[str, Any]:
    """Bootstrap servers and, when set, the security options shared by every client."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        **kafka_security.client_options(settings).python,
    }


def spark_options(settings: Settings) -> dict[str, str]:
    """The options every Spark Kafka reader takes: bootstrap servers and security."""
    return {
        "kafka.bootstrap.servers": settings.kafka_bootstrap,
        **kafka_security.client_options(settings).spark,
    }


def admin(settings: Settings, timeout_ms: int = 5000, **options: Any) -> KafkaAdminClient:
    with _auth_failures_raised(settings):
        return KafkaAdminClient(
            **client_config(settings),
            request_timeout_ms=timeout_ms,
            client_id="otellake-admin",
            **options,
        )


def producer(settings: Settings, **options: Any) -> KafkaProducer:
    with _auth_failures_raised(settings):
        return KafkaProducer(**client_config(settings), client_id="otellake-producer", **options)


def consumer(settings: Settings, *topics: str, **options: Any) -> KafkaConsumer:
    with _auth_failures_raised(settings):
        return KafkaConsumer(*topics, **client_config(settings), **options)


def preflight(settings: Settings, timeout_s: float = PREFLIGHT_TIMEOUT_S) -> bool:
    """Log in once before a long-running job starts: :class:`KafkaAuthError` when the brokers
    refuse the credentials (a Spark query would retry them for minutes). Returns False when
    no broker answered (the job's own retries handle an outage), else True. Without SASL or
    TLS there is no login to check: True at once."""
    if not (kafka_security.uses_sasl(settings) or kafka_security.uses_tls(settings)):
        return True
    try:
        reason = kafka_login.refusal(settings, timeout_s)
    except OSError:
        return False
    if reason is not None:
        raise auth_error(settings, reason)
    return True


def broker_answers(settings: Settings) -> bool:
    """True once the broker answers a metadata request (a refused login counts as not yet:
    a starting broker may refuse a SCRAM user until it has read its metadata log)."""
    try:
        client = admin(settings, timeout_ms=3000, bootstrap_timeout_ms=3000)
    except (KafkaError, KafkaAuthError, OSError):
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
