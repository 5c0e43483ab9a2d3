"""Shared fixtures: isolated settings, a session-wide local stack, a local SparkSession.

Integration tests ask for ``stack`` (a real Kafka broker and Collector on random loopback
ports with uuid topic names, started once per test session by the same code as `otellake up`)
and carry the ``services`` marker. In CI (``CI=true``) nothing skips: a service that cannot
start fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from otellake.settings import Settings, env_var_for
from otellake.stack import lifecycle
from otellake.stack.processes import private_stack_values


def pytest_configure(config: pytest.Config) -> None:
    # The suite must not pick up a developer's own OTELLAKE_* settings (the cache is shared).
    for key in list(os.environ):
        if key.startswith("OTELLAKE_") and key != "OTELLAKE_CACHE":
            del os.environ[key]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.services)
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


def isolated_settings(home: Path, **overrides: object) -> Settings:
    """Settings for a private stack: own home, random ports, uuid topic names."""
    values = private_stack_values(home, "otlp")
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment under which a subprocess (CLI, spark-submit) loads exactly ``settings``:
    this process's environment without its OTELLAKE_* variables, plus every set field."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTELLAKE_")}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None or value == ():
            continue
        if isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[env_var_for(name)] = str(value)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A running broker + Collector shared by the whole test session."""
    settings = isolated_settings(tmp_path_factory.mktemp("stack"))
    lifecycle.up(settings, progress=lambda _msg: None)
    try:
        yield settings
    finally:
        lifecycle.down(settings, progress=lambda _msg: None)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One local SparkSession (2 cores) for the whole session."""
    from otellake.spark_session import build_spark_session

    home = tmp_path_factory.mktemp("spark-home")
    session = build_spark_session(
        Settings(home=home),
        app_name="otellake-tests",
        extra_conf={"spark.sql.warehouse.dir": str(home / "warehouse")},
    )
    yield session
    session.stop()
