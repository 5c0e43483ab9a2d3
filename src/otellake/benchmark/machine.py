"""What the benchmark ran on: the machine, its load, and the versions of every moving part."""

from __future__ import annotations

import os
import platform
import re
from importlib import metadata
from typing import Any

from otellake import provision


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    memory_gib = 0.0
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages * size / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "cpu": cpu,
        "os": platform.platform(),
        # another workload on the machine skews every figure: recorded, not hidden
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("otellake", "pyspark", "delta-spark", "duckdb", "deltalake", "kafka-python",
                    "pyarrow", "protobuf", "opentelemetry-sdk"):  # fmt: skip
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    for name, (pom, prop) in {
        "kafka_broker": ("jvm/kafka/pom.xml", "kafka.version"),
        "delta_jars": ("jvm/spark/pom.xml", "delta.version"),
    }.items():
        match = re.search(rf"<{re.escape(prop)}>([^<]+)<", provision.project_file(pom).read_text())
        found[name] = match.group(1) if match else "unknown"
    found["collector_builder"] = provision.builder_version()
    return found
