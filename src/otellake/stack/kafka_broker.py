"""A real Apache Kafka broker in KRaft combined mode (broker + controller in one JVM).

It runs from Maven Central jars with ``java -cp``: no tarball, no Docker. Storage is formatted
on first start (``kafka.tools.StorageTool format --standalone``).

With ``OTELLAKE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT`` the client listener (also the
inter-broker one) asks for SASL with the settings' mechanism, user and password; the controller
listener stays PLAINTEXT on loopback. server.properties reads the password from the broker's
environment (Kafka's EnvVarConfigProvider), so no file holds it; a SCRAM user is created at
format time from a salted password (``--add-scram``), so no command line holds it either.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import uuid
from pathlib import Path

from otellake import kafka_clients, kafka_security, provision
from otellake.errors import BadInput, SetupError
from otellake.settings import Settings
from otellake.stack.processes import ServiceFiles

NAME = "kafka"


def files(settings: Settings) -> ServiceFiles:
    return ServiceFiles(NAME, settings.home)


def data_dir(settings: Settings) -> Path:
    return settings.home / "kafka" / "data"


def properties_file(settings: Settings) -> Path:
    """Also the marker that identifies our broker process on its command line."""
    return settings.home / "kafka" / "server.properties"


SCRAM_ITERATIONS = 8192
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]+")


def client_listener(settings: Settings) -> str:
    """The local broker's client listener: PLAINTEXT or SASL_PLAINTEXT (TLS is not served)."""
    protocol = settings.kafka_security_protocol or "PLAINTEXT"
    if protocol not in ("PLAINTEXT", "SASL_PLAINTEXT"):
        raise BadInput(
            f"OTELLAKE_KAFKA_SECURITY_PROTOCOL={protocol}: the local broker of `otellake up` "
            "serves PLAINTEXT or SASL_PLAINTEXT only; TLS settings are for your own brokers"
        )
    kafka_security.check(settings)
    if protocol == "SASL_PLAINTEXT" and not _USERNAME.fullmatch(settings.kafka_username or ""):
        raise BadInput(
            f"OTELLAKE_KAFKA_USERNAME={settings.kafka_username!r}: the local broker takes "
            "letters, digits and _ . @ - only"
        )
    return protocol


def _sasl_properties(settings: Settings) -> dict[str, str]:
    """SASL on the client listener; the JAAS lines reference the password by env var."""
    mechanism, user = settings.kafka_sasl_mechanism, settings.kafka_username
    assert mechanism and user
    secret = f"${{env:{kafka_security.PASSWORD_ENV}}}"
    # PLAIN: the broker's own login plus its user table (user_<name>); SCRAM: its login only,
    # the credential itself sits in the metadata log (created at format time).
    table = {f"user_{user}": secret} if mechanism == "PLAIN" else {}
    jaas = kafka_security.login_line(mechanism, user, secret, **table)
    return {
        "sasl.enabled.mechanisms": mechanism,
        "sasl.mechanism.inter.broker.protocol": mechanism,
        f"listener.name.sasl_plaintext.{mechanism.lower()}.sasl.jaas.config": jaas,
        "config.providers": "env",
        "config.providers.env.class": (
            "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
        ),
    }


def server_properties(settings: Settings) -> str:
    port, cport = settings.kafka_port, settings.kafka_controller_port
    client = client_listener(settings)
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{cport}",
        "listeners": f"{client}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
        "advertised.listeners": f"{client}://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": client,
        "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,{client}:{client}",
        **(_sasl_properties(settings) if client == "SASL_PLAINTEXT" else {}),
        "log.dirs": str(data_dir(settings)),
        "num.partitions": str(settings.topic_partitions),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "log.retention.hours": "168",
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise SetupError("`java` is not on PATH; install a JDK 17 or 21")
    return java


def _classpath(settings: Settings) -> list[str]:
    jars = provision.kafka_jars(settings)
    return [
        "-cp",
        str(jars / "lib" / "*"),
        f"-Dlog4j2.configurationFile={jars / 'log4j2.properties'}",
    ]


def new_cluster_id() -> str:
    """A random KRaft cluster id (base64url of a uuid) that does not start with '-': the
    storage tool would read such an id as an option and fail (1 start in 32)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def format_command(settings: Settings) -> list[str] | None:
    """The one-time storage format, or None when the data directory is formatted already."""
    if (data_dir(settings) / "meta.properties").is_file():
        return None
    return [
        _java(),
        *_classpath(settings),
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        new_cluster_id(),
        "-c",
        str(properties_file(settings)),
        *_scram_user(settings),
    ]


def _scram_user(settings: Settings) -> list[str]:
    """``--add-scram`` for a SCRAM user: salt and salted password, never the password."""
    mechanism = settings.kafka_sasl_mechanism or ""
    if client_listener(settings) != "SASL_PLAINTEXT" or not mechanism.startswith("SCRAM-"):
        return []
    assert settings.kafka_password is not None
    digest = "sha256" if mechanism == "SCRAM-SHA-256" else "sha512"
    salt = secrets.token_bytes(24)
    salted = hashlib.pbkdf2_hmac(
        digest, settings.kafka_password.get_secret_value().encode(), salt, SCRAM_ITERATIONS
    )

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return [
        "--add-scram",
        f"{mechanism}=[name={settings.kafka_username},iterations={SCRAM_ITERATIONS},"
        f'salt="{b64(salt)}",saltedpassword="{b64(salted)}"]',
    ]


def redact_format_output(text: str) -> str:
    """The storage tool prints the bootstrap records, SCRAM verifiers (salt, stored and
    server keys) included: a log keeps none of them."""
    return _SCRAM_RECORD.sub("UserScramCredentialRecord(<redacted>)", text)


_SCRAM_RECORD = re.compile(r"UserScramCredentialRecord\([^)]*\)")


def environment(settings: Settings) -> dict[str, str]:
    """The broker's (and the storage tool's) environment: the password its JAAS lines read."""
    return {**os.environ, **kafka_security.client_options(settings).env}


def start_command(settings: Settings) -> list[str]:
    return [
        _java(),
        "-Xmx512m",
        "-Xms256m",
        *_classpath(settings),
        "kafka.Kafka",
        str(properties_file(settings)),
    ]


def write_properties(settings: Settings) -> Path:
    path = properties_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(server_properties(settings))
    return path


def ready(settings: Settings) -> bool:
    return kafka_clients.broker_answers(settings)
