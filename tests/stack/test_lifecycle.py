"""`up` twice, `status`, a taken port, `down`: on a private stack (not the shared one)."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from otellake.settings import Settings
from otellake.stack import lifecycle
from tests.conftest import isolated_settings, settings_env

pytestmark = pytest.mark.services


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otellake.cli", *args],
        env=settings_env(settings, COLUMNS="200"),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _states(settings: Settings) -> dict[str, dict[str, object]]:
    proc = _cli(settings, "status", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return {s["name"]: s for s in json.loads(proc.stdout)["services"]}


def _pid_alive(pid: int) -> bool:
    return (
        Path(f"/proc/{pid}").exists()
        and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    )


def test_up_twice_status_down(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    try:
        first = _cli(settings, "up")
        assert first.returncode == 0, first.stdout + first.stderr
        states = _states(settings)
        assert {n: s["state"] for n, s in states.items()} == {
            "kafka": "ready",
            "collector": "ready",
            "spark-master": "stopped",  # `cluster up` starts these, `up` does not
            "spark-worker": "stopped",
        }
        pids = {n: s["pid"] for n, s in states.items() if n in ("kafka", "collector")}

        second = _cli(settings, "up")
        assert second.returncode == 0, second.stderr
        assert "Kafka broker already running" in second.stderr  # progress
        assert "Collector already running" in second.stderr
        again = _states(settings)
        assert {n: again[n]["pid"] for n in pids} == pids

        changed = isolated_settings(
            tmp_path,
            kafka_bootstrap=settings.kafka_bootstrap,
            kafka_controller_port=settings.kafka_controller_port,
            topic_spans="some_other_topic",
        )
        refused = _cli(changed, "up")
        assert refused.returncode == 2
        assert "running with other settings" in refused.stderr

        down = _cli(settings, "down")
        assert down.returncode == 0, down.stderr
        assert f"stopped collector (pid {pids['collector']})" in down.stderr
        assert f"stopped kafka (pid {pids['kafka']})" in down.stderr
        assert not any(_pid_alive(int(p)) for p in pids.values())  # type: ignore[call-overload]
        assert {s["state"] for s in _states(settings).values()} == {"stopped"}

        again = _cli(settings, "down")
        assert again.returncode == 0
        assert "kafka was not running" in again.stderr
    finally:
        lifecycle.down(settings, progress=lambda _m: None)


def test_taken_port_is_named_with_its_setting(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", settings.otlp_http_port))
        squatter.listen()
        proc = _cli(settings, "up")
    try:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"port {settings.otlp_http_port}" in proc.stderr
        assert "OTELLAKE_OTLP_HTTP_PORT" in proc.stderr
        # Nothing was started when the check failed.
        assert {s["state"] for s in _states(settings).values()} == {"stopped"}
    finally:
        lifecycle.down(settings, progress=lambda _m: None)
