"""A real Apache Kafka broker in KRaft combined mode (broker + controller in one JVM).

It runs from Maven Central jars with ``java -cp``: no tarball, no Docker. Storage is formatted
on first start (``kafka.tools.StorageTool format --standalone``).
"""

from __future__ import annotations

import base64
import shutil
import uuid
from pathlib import Path

from otellake import kafka_clients, provision
from otellake.errors import SetupError
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


def server_properties(settings: Settings) -> str:
    port, cport = settings.kafka_port, settings.kafka_controller_port
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{cport}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
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
    ]


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
