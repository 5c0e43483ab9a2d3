"""A second, SASL-enabled local stack (broker + Collector), started by the same code as
`otellake up`, with a distinctive password that the tests later look for in every log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from otellake.settings import Settings
from otellake.stack import lifecycle
from tests.conftest import isolated_settings

# Distinctive, so that a leak anywhere (logs, configs, command lines) is found by a grep.
PASSWORD = f"SaslPw-{uuid.uuid4().hex}"
WRONG_PASSWORD = f"WrongPw-{uuid.uuid4().hex}"
SECRETS = (PASSWORD, WRONG_PASSWORD)


@pytest.fixture(scope="session")
def sasl_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Broker with a SASL_PLAINTEXT (SCRAM-SHA-256) client listener, and the Collector
    exporting to it; both on random loopback ports under their own home."""
    settings = isolated_settings(
        tmp_path_factory.mktemp("sasl-stack"),
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_username="otellake",
        kafka_password=SecretStr(PASSWORD),
    )
    lines: list[str] = []
    started = time.monotonic()
    lifecycle.up(settings, progress=lines.append)
    lines.append(f"stack up in {time.monotonic() - started:.1f}s")
    log_file(settings, "up").write_text("\n".join(lines) + "\n")
    try:
        yield settings
    finally:
        lifecycle.down(settings, progress=lambda _msg: None)


def log_file(settings: Settings, name: str) -> Path:
    """Where a test keeps a command's output, under the stack's home (grepped for secrets)."""
    path = settings.home / "logs" / f"test-{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
