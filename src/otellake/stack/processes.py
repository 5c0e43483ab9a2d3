"""Background service processes: start detached, remember the pid, stop exactly that pid.

A pid file alone can outlive its process and the number be reused, so each service also
names a *marker* (a path unique to this ``OTELLAKE_HOME``) that must appear on the process's
command line before we consider it ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from otellake.errors import ServiceNotReady


@dataclass(frozen=True)
class ServiceFiles:
    """Where one service keeps its pid and log under ``OTELLAKE_HOME``."""

    name: str
    home: Path

    @property
    def pidfile(self) -> Path:
        return self.home / "run" / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "logs" / f"{self.name}.log"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def running_pid(files: ServiceFiles, marker: str) -> int | None:
    """The pid of this service if it is alive and really ours, else None."""
    try:
        pid = int(files.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if marker in _cmdline(pid):
        return pid
    return None


def start_detached(
    files: ServiceFiles,
    cmd: list[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``cmd`` in its own session (so `down` can signal its whole group)."""
    files.pidfile.parent.mkdir(parents=True, exist_ok=True)
    files.logfile.parent.mkdir(parents=True, exist_ok=True)
    with files.logfile.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    files.pidfile.write_text(f"{proc.pid}\n")
    record_started(proc.pid)
    return proc.pid


# When set (by .ci/run), every service started is appended to this file, so that CI stops
# exactly the processes the test session started, should the session not stop them itself.
STARTED_PIDS_FILE = "CI_STARTED_PIDS"


def record_started(pid: int) -> None:
    """Append ``pid`` to the file named by ``$CI_STARTED_PIDS`` (nothing when it is unset)."""
    path = os.environ.get(STARTED_PIDS_FILE)
    if path:
        with open(path, "a") as f:
            f.write(f"{pid}\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child of this very process) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def stop(files: ServiceFiles, marker: str, timeout_s: float = 30.0) -> int | None:
    """SIGTERM the service's process group, SIGKILL after the deadline; returns the pid."""
    pid = running_pid(files, marker)
    if pid is None:
        files.pidfile.unlink(missing_ok=True)
        return None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        wait_until(lambda: not _alive(pid), 10.0, f"{files.name} (pid {pid}) to exit after SIGKILL")
    files.pidfile.unlink(missing_ok=True)
    return pid


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nobody listens on right now (for tests and ephemeral services)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def wait_until(
    ready: Callable[[], bool],
    timeout_s: float,
    what: str,
    log: Path | None = None,
    still_alive: Callable[[], bool] | None = None,
    interval_s: float = 0.25,
) -> None:
    """Poll ``ready`` until it is true or the deadline passes (never a blind sleep)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if still_alive is not None and not still_alive():
            tail = f"; last log lines:\n{log_tail(log)}" if log else ""
            raise ServiceNotReady(f"{what}: the process exited{tail}")
        time.sleep(interval_s)
    tail = f"; last log lines of {log}:\n{log_tail(log)}" if log else ""
    raise ServiceNotReady(f"timed out after {timeout_s:.0f}s waiting for {what}{tail}")


def process_alive(pid: int) -> Callable[[], bool]:
    return lambda: _alive(pid)


def private_stack_values(home: object, topic_prefix: str) -> dict[str, object]:
    """Settings values for a private stack: its own home, random loopback ports, uuid topic
    names (the test session's stack and the benchmark's)."""
    import uuid

    tag = uuid.uuid4().hex[:8]
    return {
        "home": home,
        "kafka_bootstrap": f"127.0.0.1:{free_port()}",
        "kafka_controller_port": free_port(),
        "otlp_grpc_port": free_port(),
        "otlp_http_port": free_port(),
        "collector_health_port": free_port(),
        "collector_metrics_port": free_port(),
        "topic_spans": f"{topic_prefix}_spans_{tag}",
        "topic_logs": f"{topic_prefix}_logs_{tag}",
        "topic_metrics": f"{topic_prefix}_metrics_{tag}",
    }
