"""`otellake cluster up|down`: a Spark standalone master and one worker on 127.0.0.1.

The pip-installed pyspark has no ``sbin/start-*.sh`` scripts, but its ``bin/spark-class``
runs the standalone daemons. A job submitted with ``--master spark://127.0.0.1:<port>`` then
runs in executors the worker launches, in other processes and folders than the driver: the
same setup as a real cluster (jars shipped by ``spark.jars``, absolute lake paths), on one
machine, for tests and for trying the cluster recipe in docs/cluster-and-s3.md.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Literal

from otellake.errors import PortInUse
from otellake.settings import Settings
from otellake.stack.lifecycle import Progress, ServiceStatus
from otellake.stack.processes import (
    ServiceFiles,
    port_is_free,
    process_alive,
    running_pid,
    start_detached,
    stop,
    wait_until,
)

HOST = "127.0.0.1"
WORKER_CORES = 2
# Enough for one executor of the default 1g plus headroom; the worker JVM itself is separate.
WORKER_MEMORY = "2g"
READY_TIMEOUT_S = 120.0
MASTER, WORKER = "spark-master", "spark-worker"
_CLASSES = {
    MASTER: "org.apache.spark.deploy.master.Master",
    WORKER: "org.apache.spark.deploy.worker.Worker",
}


def spark_home() -> Path:
    """The pip-installed pyspark folder: it holds ``bin/spark-class`` and ``jars/``."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def master_url(settings: Settings) -> str:
    return f"spark://{HOST}:{settings.spark_master_port}"


def files(settings: Settings, name: str) -> ServiceFiles:
    return ServiceFiles(name, settings.home)


def _marker(settings: Settings, name: str) -> str:
    """A JVM property unique to this home, so `down` never signals someone else's daemon."""
    return f"-Dotellake.service={files(settings, name).pidfile}"


def work_dir(settings: Settings) -> Path:
    """Where the worker runs executors (their stdout/stderr land in app-*/<n>/)."""
    return settings.home / "spark" / "work"


def _command(name: str, *args: str) -> list[str]:
    return [str(spark_home() / "bin" / "spark-class"), _CLASSES[name], *args]


def master_command(settings: Settings) -> list[str]:
    return _command(
        MASTER,
        "--host", HOST,
        "--port", str(settings.spark_master_port),
        "--webui-port", str(settings.spark_ui_port),
    )  # fmt: skip


def worker_command(settings: Settings) -> list[str]:
    # --webui-port 0: the worker's own UI takes a free port, so it never collides with the
    # master's UI (8080) or anything else; the master's JSON names it.
    return _command(
        WORKER,
        "--host", HOST,
        "--cores", str(WORKER_CORES),
        "--memory", WORKER_MEMORY,
        "--webui-port", "0",
        "--work-dir", str(work_dir(settings)),
        master_url(settings),
    )  # fmt: skip


def environment(settings: Settings, name: str) -> dict[str, str]:
    """SPARK_HOME = pyspark; SPARK_LOCAL_IP keeps every listener (web UIs, executors' RPC)
    on loopback, which the ``--host`` option alone does not do for the web UIs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env |= {
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": HOST,
        # The master's REST submission server would take the fixed port 6066 (a second
        # cluster on the machine would collide); spark-submit does not need it.
        "SPARK_DAEMON_JAVA_OPTS": f"{_marker(settings, name)} -Dspark.master.rest.enabled=false",
        # No sbin/ scripts here: keep spark-class from looking for a conf dir of the user's.
        "SPARK_CONF_DIR": str(settings.home / "spark" / "conf"),
    }
    return env


def master_state(settings: Settings) -> dict[str, Any] | None:
    """The master's own JSON view (``/json`` on its web UI), or None when it does not answer."""
    url = f"http://{HOST}:{settings.spark_ui_port}/json"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            state: dict[str, Any] = json.load(response)
            return state
    except (OSError, ValueError, urllib.error.URLError):
        return None


def alive_workers(settings: Settings) -> int:
    state = master_state(settings)
    if state is None or state.get("status") != "ALIVE":
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


def _check_ports(settings: Settings) -> None:
    for port, setting, what in (
        (settings.spark_master_port, "OTELLAKE_SPARK_MASTER_PORT", "the Spark master"),
        (settings.spark_ui_port, "OTELLAKE_SPARK_UI_PORT", "the Spark master's web UI"),
    ):
        if not port_is_free(port):
            raise PortInUse(port, setting, what)


def pid(settings: Settings, name: str) -> int | None:
    return running_pid(files(settings, name), _marker(settings, name))


def up(settings: Settings, progress: Progress = print) -> list[ServiceStatus]:
    """Start the master, then the worker; return once the master lists the worker as ALIVE.

    Safe to repeat: running daemons are left alone."""
    (settings.home / "spark" / "conf").mkdir(parents=True, exist_ok=True)
    work_dir(settings).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    master_pid = pid(settings, MASTER)
    if master_pid is None:
        _check_ports(settings)
        master_files = files(settings, MASTER)
        master_pid = start_detached(
            master_files, master_command(settings), env=environment(settings, MASTER)
        )
        progress(f"started Spark master (pid {master_pid}) on {master_url(settings)}")
        wait_until(
            lambda: master_state(settings) is not None,
            READY_TIMEOUT_S,
            f"Spark master web UI on http://{HOST}:{settings.spark_ui_port}/json",
            master_files.logfile,
            still_alive=process_alive(master_pid),
        )
    else:
        progress(f"Spark master already running (pid {master_pid})")
    worker_pid = pid(settings, WORKER)
    if worker_pid is None:
        worker_files = files(settings, WORKER)
        worker_pid = start_detached(
            worker_files, worker_command(settings), env=environment(settings, WORKER)
        )
        progress(f"started Spark worker (pid {worker_pid}): {WORKER_CORES} cores, {WORKER_MEMORY}")
        wait_until(
            lambda: alive_workers(settings) >= 1,
            READY_TIMEOUT_S,
            f"the Spark worker to register with {master_url(settings)}",
            worker_files.logfile,
            still_alive=process_alive(worker_pid),
        )
        progress(f"Spark cluster ready after {time.monotonic() - started:.1f}s")
    else:
        progress(f"Spark worker already running (pid {worker_pid})")
    return status(settings)


def down(settings: Settings, progress: Progress = print) -> None:
    """Stop the worker (and with its process group, its executors), then the master."""
    for name in (WORKER, MASTER):
        stopped = stop(files(settings, name), _marker(settings, name))
        progress(f"stopped {name} (pid {stopped})" if stopped else f"{name} was not running")


def status(settings: Settings) -> list[ServiceStatus]:
    """Both daemons, like `otellake status` shows the broker and the Collector."""
    checks = {
        MASTER: lambda: master_state(settings) is not None,
        WORKER: lambda: alive_workers(settings) >= 1,
    }
    ports = {MASTER: {"master": settings.spark_master_port, "ui": settings.spark_ui_port}}
    result = []
    for name in (MASTER, WORKER):
        daemon_pid = pid(settings, name)
        state: Literal["ready", "starting", "stopped"] = "stopped"
        if daemon_pid is not None:  # ask the master only when one of ours runs
            state = "ready" if checks[name]() else "starting"
        result.append(
            ServiceStatus(
                name, state, daemon_pid, ports.get(name, {}), str(files(settings, name).logfile)
            )
        )
    return result
