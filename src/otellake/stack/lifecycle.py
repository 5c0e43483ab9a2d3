"""`otellake up` / `down` / `status`: broker, then topics, then Collector; stop exactly those."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from otellake import kafka_clients
from otellake.errors import BadInput, PortInUse, ServiceNotReady
from otellake.settings import Settings
from otellake.stack import collector, kafka_broker
from otellake.stack.processes import (
    ServiceFiles,
    log_tail,
    port_is_free,
    process_alive,
    running_pid,
    start_detached,
    stop,
    wait_until,
)

Progress = Callable[[str], None]
BROKER_READY_TIMEOUT_S = 90.0
COLLECTOR_READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: Literal["ready", "starting", "stopped"]
    pid: int | None
    ports: dict[str, int]
    log: str


def _broker_ports(settings: Settings) -> dict[str, tuple[int, str]]:
    return {
        "kafka": (settings.kafka_port, "OTELLAKE_KAFKA_BOOTSTRAP"),
        "controller": (settings.kafka_controller_port, "OTELLAKE_KAFKA_CONTROLLER_PORT"),
    }


def _collector_ports(settings: Settings) -> dict[str, tuple[int, str]]:
    return {
        "otlp_grpc": (settings.otlp_grpc_port, "OTELLAKE_OTLP_GRPC_PORT"),
        "otlp_http": (settings.otlp_http_port, "OTELLAKE_OTLP_HTTP_PORT"),
        "health": (settings.collector_health_port, "OTELLAKE_COLLECTOR_HEALTH_PORT"),
        "metrics": (settings.collector_metrics_port, "OTELLAKE_COLLECTOR_METRICS_PORT"),
    }


def _check_ports(ports: dict[str, tuple[int, str]], service: str) -> None:
    for what, (port, setting) in ports.items():
        if not port_is_free(port):
            raise PortInUse(port, setting, f"the {service} ({what})")


def _broker_marker(settings: Settings) -> str:
    return str(kafka_broker.properties_file(settings))


def _collector_marker(settings: Settings) -> str:
    return str(collector.config_path(settings))


def up(settings: Settings, progress: Progress = print) -> list[ServiceStatus]:
    """Start what is not running yet and wait until each is really ready; safe to repeat."""
    broker_files = kafka_broker.files(settings)
    broker_pid = running_pid(broker_files, _broker_marker(settings))
    if broker_pid is None:
        _check_ports(_broker_ports(settings), "Kafka broker")
        if collector_pid_or_none(settings) is None:
            _check_ports(_collector_ports(settings), "Collector")
        kafka_broker.write_properties(settings)
        fmt = kafka_broker.format_command(settings)
        if fmt is not None:
            progress(f"formatting Kafka storage in {kafka_broker.data_dir(settings)}")
            _run_once(
                fmt,
                broker_files,
                env=kafka_broker.environment(settings),
                redact=kafka_broker.redact_format_output,
            )
        started = time.monotonic()
        broker_pid = start_detached(
            broker_files,
            kafka_broker.start_command(settings),
            env=kafka_broker.environment(settings),
        )
        progress(f"started Kafka broker (pid {broker_pid}) on {settings.kafka_bootstrap}")
        wait_until(
            lambda: kafka_broker.ready(settings),
            BROKER_READY_TIMEOUT_S,
            f"Kafka broker on {settings.kafka_bootstrap}",
            broker_files.logfile,
            still_alive=process_alive(broker_pid),
        )
        progress(f"Kafka broker ready after {time.monotonic() - started:.1f}s")
    else:
        _same_config(
            kafka_broker.properties_file(settings),
            kafka_broker.server_properties(settings),
            "Kafka broker",
            broker_pid,
        )
        progress(f"Kafka broker already running (pid {broker_pid})")

    created = kafka_clients.ensure_topics(
        settings, list(settings.topics.values()), settings.topic_partitions
    )
    if created:
        progress(f"created topics {', '.join(created)} ({settings.topic_partitions} partitions)")

    collector_files = collector.files(settings)
    collector_pid = collector_pid_or_none(settings)
    if collector_pid is None:
        _check_ports(_collector_ports(settings), "Collector")
        collector.write_config(settings)
        started = time.monotonic()
        collector_pid = start_detached(
            collector_files, collector.start_command(settings), env=collector.environment(settings)
        )
        progress(
            f"started Collector (pid {collector_pid}), OTLP on 127.0.0.1:"
            f"{settings.otlp_grpc_port} (gRPC) and :{settings.otlp_http_port} (HTTP)"
        )
        wait_until(
            lambda: collector.ready(settings),
            COLLECTOR_READY_TIMEOUT_S,
            f"Collector health check on 127.0.0.1:{settings.collector_health_port}",
            collector_files.logfile,
            still_alive=process_alive(collector_pid),
        )
        progress(f"Collector ready after {time.monotonic() - started:.1f}s")
    else:
        _same_config(
            collector.config_path(settings),
            collector.render_config(settings),
            "Collector",
            collector_pid,
        )
        progress(f"Collector already running (pid {collector_pid})")
    return status(settings)


def _same_config(path: Path, wanted: str, what: str, pid: int) -> None:
    """`up` twice is safe only if the running service was started with these settings."""
    try:
        current = path.read_text()
    except OSError:
        current = ""
    if current != wanted:
        raise BadInput(
            f"the {what} (pid {pid}) is running with other settings than the current ones "
            f"(see {path}); run `otellake down` first, then `otellake up`"
        )


def _run_once(
    cmd: list[str],
    files: ServiceFiles,
    env: dict[str, str] | None = None,
    redact: Callable[[str], str] = lambda text: text,
) -> None:
    """Run a one-off step to its end; its output, redacted, goes to the service's log."""
    import subprocess

    files.logfile.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        cmd, capture_output=True, text=True, errors="replace", check=False, env=env
    )
    with files.logfile.open("a") as log:
        log.write(redact(proc.stdout + proc.stderr))
    if proc.returncode != 0:
        raise ServiceNotReady(
            f"{files.name}: the one-off step before its start exited with {proc.returncode}; "
            f"last log lines:\n{log_tail(files.logfile)}"
        )


def collector_pid_or_none(settings: Settings) -> int | None:
    return running_pid(collector.files(settings), _collector_marker(settings))


def down(settings: Settings, progress: Progress = print) -> None:
    """Stop the Collector first (so it flushes to Kafka), then the broker."""
    for files, marker in (
        (collector.files(settings), _collector_marker(settings)),
        (kafka_broker.files(settings), _broker_marker(settings)),
    ):
        pid = stop(files, marker)
        progress(f"stopped {files.name} (pid {pid})" if pid else f"{files.name} was not running")


def status(settings: Settings) -> list[ServiceStatus]:
    result = []
    for name, files, marker, ports, is_ready in (
        (
            "kafka",
            kafka_broker.files(settings),
            _broker_marker(settings),
            _broker_ports(settings),
            kafka_broker.ready,
        ),
        (
            "collector",
            collector.files(settings),
            _collector_marker(settings),
            _collector_ports(settings),
            collector.ready,
        ),
    ):
        pid = running_pid(files, marker)
        state: Literal["ready", "starting", "stopped"] = "stopped"
        if pid is not None:
            state = "ready" if is_ready(settings) else "starting"
        result.append(
            ServiceStatus(name, state, pid, {k: v[0] for k, v in ports.items()}, str(files.logfile))
        )
    return result
