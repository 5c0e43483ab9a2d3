"""An S3-compatible endpoint on loopback: moto in server mode on a random free port, a bucket
with a uuid name per test, and settings for a lake in it (``s3a://<bucket>/lake``).

Credentials: Spark's JVM reads ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` from the
environment it was launched with (the AWS SDK's environment provider; a JVM's environment
cannot change later), and the session-wide ``spark`` fixture may start before any S3 test.
So this module sets test credentials when pytest imports it, at collection, before any
fixture runs. They are moto's only (moto accepts any key unless asked to check).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from otellake import kafka_clients
from otellake.settings import Settings
from otellake.stack.processes import free_port, record_started

TEST_KEY_ID = "otellake-test-key"
TEST_SECRET = "otellake-test-secret-0123456789"
os.environ["AWS_ACCESS_KEY_ID"] = TEST_KEY_ID
os.environ["AWS_SECRET_ACCESS_KEY"] = TEST_SECRET
os.environ.pop("AWS_SESSION_TOKEN", None)
REGION = "us-east-1"
START_TIMEOUT_S = 60.0


@dataclass
class MotoServer:
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION)

    def new_bucket(self) -> str:
        bucket = f"otellake-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def keys(self, bucket: str, prefix: str) -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


def start_moto(log: Path, check_credentials: bool = False) -> MotoServer:
    """``python -m moto.server`` on 127.0.0.1:<free port>; returns once it answers.

    ``check_credentials``: moto's IAM checks from the first request on, so every key that
    IAM does not know (all of them: none is created) is refused with InvalidAccessKeyId.
    """
    port = free_port()
    env = {**os.environ}
    if check_credentials:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    out = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=env,
    )
    out.close()
    record_started(process.pid)
    server = MotoServer(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"moto server on port {port} exited with {process.returncode}: "
                f"{log.read_text()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=2):
                return server
        except OSError:
            if time.monotonic() > deadline:
                stop_moto(server)
                raise TimeoutError(
                    f"moto server on port {port} did not answer within {START_TIMEOUT_S:.0f} s"
                ) from None
            time.sleep(0.1)  # poll interval


def stop_moto(server: MotoServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server
    finally:
        stop_moto(server)


def s3_settings(base: Settings, home: Path, endpoint: str, bucket: str) -> Settings:
    """``base`` (the shared broker) with its own topics and home, the lake in ``bucket``."""
    tag = uuid.uuid4().hex[:10]
    return base.model_copy(
        update={
            "home": home,
            "lake": f"s3a://{bucket}/lake",
            "s3_endpoint": endpoint,
            "s3_region": REGION,
            "s3_path_style": True,
            "topic_spans": f"spans_{tag}",
            "topic_logs": f"logs_{tag}",
            "topic_metrics": f"metrics_{tag}",
        }
    )


@pytest.fixture
def s3_lake(stack: Settings, moto_server: MotoServer, tmp_path: Path) -> Settings:
    """A lake in a new bucket of the moto server, fed by this test's own topics."""
    settings = s3_settings(stack, tmp_path / "home", moto_server.endpoint, moto_server.new_bucket())
    kafka_clients.ensure_topics(settings, list(settings.topics.values()), partitions=3)
    return settings
