"""`otellake cluster` without starting a JVM: a taken port is refused before anything starts,
and `down` on nothing says so."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from otellake.settings import Settings
from otellake.stack.processes import free_port
from tests.conftest import settings_env

ROOT = Path(__file__).resolve().parents[2]
OTELLAKE = str(ROOT / ".venv" / "bin" / "otellake")


def test_up_refuses_a_taken_master_port_and_names_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(home=tmp_path, spark_master_port=port, spark_ui_port=free_port())
        proc = subprocess.run(
            [OTELLAKE, "cluster", "up"], env=settings_env(settings), capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"port {port} for the Spark master is already in use" in proc.stderr
    assert "OTELLAKE_SPARK_MASTER_PORT" in proc.stderr
    assert not (tmp_path / "run" / "spark-master.pid").exists()


def test_down_when_nothing_runs(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, spark_master_port=free_port(), spark_ui_port=free_port())
    proc = subprocess.run(
        [OTELLAKE, "cluster", "down"], env=settings_env(settings), capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "spark-worker was not running" in proc.stderr  # progress, not data
    assert "spark-master was not running" in proc.stderr
