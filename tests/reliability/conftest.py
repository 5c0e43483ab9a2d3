"""Reliability tests: the shared broker for most, a private stack for those that stop it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otellake.settings import Settings
from otellake.stack import lifecycle
from tests.conftest import isolated_settings
from tests.ingest.conftest import lake_settings  # noqa: F401 - the shared-broker fixture

# Soak-sized variants (`make test-long`) multiply the sizes by this factor.
SCALE = int(os.environ.get("OTELLAKE_TEST_SCALE", "1"))
# The soak (test_soak.py, `make test-long` only): its length in minutes and its steady rate in
# spans/s. (Read here, when pytest loads this conftest: tests/conftest.py's pytest_configure
# clears every OTELLAKE_* variable before the test modules are imported.)
SOAK_MINUTES = float(os.environ.get("OTELLAKE_SOAK_MINUTES", "30"))
SOAK_RATE = int(os.environ.get("OTELLAKE_SOAK_RATE", "500"))


@pytest.fixture(scope="session")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A broker and Collector of the reliability tests' own (the tests stop and restart them)."""
    yield from own_stack(tmp_path_factory, "private-stack")


def own_stack(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Settings]:
    """A broker and a Collector on random ports with topics of their own, stopped at the end."""
    settings = isolated_settings(tmp_path_factory.mktemp(name), topic_partitions=3)
    lifecycle.up(settings, progress=lambda _m: None)
    try:
        yield settings
    finally:
        lifecycle.down(settings, progress=lambda _m: None)


def report(test: str, **figures: Any) -> None:
    """The figures a failure test measured, printed (`pytest -s`) and kept under var/."""
    line = json.dumps({"test": test, **figures})
    print(f"\nFIGURES {line}")
    out = Path(__file__).resolve().parents[2] / "var" / "reliability-figures.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as f:
        f.write(line + "\n")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test of the private stack needs services like one of the shared stack (`make test-fast`
    deselects both)."""
    for item in items:
        if "private_stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.services)
