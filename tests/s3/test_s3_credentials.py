"""Wrong or missing S3 credentials: a clear error that names the endpoint, fast, and never the
secret."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otellake import object_store
from otellake.analytics import api
from otellake.analytics.engines import DuckDBEngine
from otellake.object_store import ObjectStoreError
from otellake.settings import Settings
from otellake.stack.processes import free_port
from tests.conftest import settings_env
from tests.s3.conftest import MotoServer, s3_settings, start_moto, stop_moto

ROOT = Path(__file__).resolve().parents[2]
WRONG_SECRET = "not-the-secret-4f1d9a"
# Wrong credentials are refused by the first request; a run that takes longer is retrying.
# Bounds: 3x the slowest of 14 runs on the 2-core machine while another ingest loaded it (load
# 4.7-11.8): `analyze` 1.36 s; `ingest` 28.9 s, nearly all of it the Spark session's start
# (its probe of the lake runs once the JVM is up).
FAIL_WITHIN_S = {"ingest": 85.0, "analyze": 4.0}
# An endpoint that does not answer: 3x the slowest of 7 runs (load 5.3-5.8) of the Spark
# probe (2.9 s) and of DuckDB's read through delta-rs (6.7 s).
NO_ANSWER_WITHIN_S = 20.0


@pytest.fixture(scope="module")
def checking_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A second moto server that checks credentials: it knows no key, so refuses every one."""
    server = start_moto(tmp_path_factory.mktemp("moto-auth") / "moto.log", check_credentials=True)
    try:
        yield server
    finally:
        stop_moto(server)


def test_wrong_credentials_fail_ingest_and_analyze_naming_the_endpoint(
    stack: Settings, checking_moto: MotoServer, tmp_path: Path
) -> None:
    settings = s3_settings(stack, tmp_path / "home", checking_moto.endpoint, "otellake-nobucket")
    env = settings_env(settings, AWS_ACCESS_KEY_ID="AKIAWRONG", AWS_SECRET_ACCESS_KEY=WRONG_SECRET)
    otellake = str(ROOT / ".venv/bin/otellake")
    for command in (
        [otellake, "ingest", "--signal", "traces", "--available-now"],
        [otellake, "analyze", "latency", "--since", "1h", "--format", "json"],
    ):
        t0 = time.monotonic()
        bound = FAIL_WITHIN_S[command[1]]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=bound * 2)
        elapsed = time.monotonic() - t0
        output = proc.stdout + proc.stderr
        assert proc.returncode == 1, output[-3000:]
        error = " ".join(proc.stderr.split())  # the console wraps long lines
        assert "error: cannot " in error, output[-3000:]
        assert checking_moto.endpoint in error, error
        # S3A probes with HEAD requests, whose 403 carries no error code: AccessDenied.
        assert "InvalidAccessKeyId" in error or "AccessDenied" in error, error
        assert "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" in error, error
        assert WRONG_SECRET not in output
        assert elapsed < bound, (command[1], elapsed)


def test_missing_credentials_fail_before_any_request(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = s3_settings(
        Settings(home=tmp_path), tmp_path / "home", moto_server.endpoint, moto_server.new_bucket()
    )
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ObjectStoreError) as caught:
        api.analyze("latency", engine=DuckDBEngine(settings), since="1h")
    message = str(caught.value)
    assert moto_server.endpoint in message and "AWS_SECRET_ACCESS_KEY not set" in message

    # The CLI's ingest says the same before it starts a JVM.
    env = settings_env(settings)
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/otellake"), "ingest", "--available-now"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    error = " ".join(proc.stderr.split())
    assert moto_server.endpoint in error and "AWS_SECRET_ACCESS_KEY not set" in error, error


def test_unreachable_endpoint_fails_fast_naming_it(spark: Any, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = s3_settings(Settings(home=tmp_path), tmp_path / "home", dead, "otellake-nobucket")
    object_store.configure_session(spark, settings)
    for check in (
        lambda: object_store.check_lake_reachable(spark, settings),  # what ingest runs first
        lambda: api.analyze("latency", engine=DuckDBEngine(settings), since="1h"),
    ):
        t0 = time.monotonic()
        with pytest.raises(ObjectStoreError) as caught:
            check()
        assert time.monotonic() - t0 < NO_ANSWER_WITHIN_S
        assert f"S3 endpoint {dead}" in str(caught.value) and "no answer" in str(caught.value)
