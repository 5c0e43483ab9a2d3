"""CI stops exactly what the test session started: every service started is recorded by pid
in the file ``$CI_STARTED_PIDS`` names (see .ci/run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from otellake.stack import processes


def test_each_started_service_is_recorded_by_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "pids"
    monkeypatch.setenv(processes.STARTED_PIDS_FILE, str(record))
    files = [processes.ServiceFiles(f"sleeper{i}", tmp_path / "home") for i in range(2)]
    pids = [processes.start_detached(f, ["sleep", "60"]) for f in files]
    try:
        assert record.read_text().split() == [str(p) for p in pids]
    finally:
        for f in files:
            processes.stop(f, "sleep")
    monkeypatch.delenv(processes.STARTED_PIDS_FILE)
    processes.record_started(12345)  # unset: nothing is written anywhere
    assert record.read_text().split() == [str(p) for p in pids]
