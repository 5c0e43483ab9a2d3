"""One back-dated shop history for the report, anomaly and notebook tests: generated to Kafka
on the shared stack and ingested once per test session (the fixture in each of those folders'
conftest.py returns this one lake).

Three hours at 20 spans/s ending at the current minute, with the generator's two incidents
(a 5x slowdown over 40-55 % of the run, 30 % failures over 70-80 %): the first hour is
ordinary traffic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from otellake.cli import app
from otellake.settings import Settings
from tests.conftest import settings_env
from tests.ingest.conftest import ingest_now, own_topics_settings

HOURS = 3
RATE = 20  # spans per second
SEED = 7


@dataclass(frozen=True)
class ShopHistory:
    settings: Settings  # its own lake and topics on the shared stack
    truth: dict[str, Any]
    start: datetime  # first request (a whole minute)
    end: datetime  # start + HOURS

    def at(self, fraction: float) -> datetime:
        return self.start + (self.end - self.start) * fraction


_made: dict[str, ShopHistory] = {}


def shop_history(
    stack: Settings, spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> ShopHistory:
    """The session's history, generated and ingested on the first call."""
    if "lake" in _made:
        return _made["lake"]
    folder = tmp_path_factory.mktemp("shop-history")
    settings = own_topics_settings(stack, folder)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(hours=HOURS)
    truth_path = folder / "truth.json"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            *("--rate", str(RATE), "--duration", f"{HOURS}h", "--seed", str(SEED)),
            *("--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--truth", str(truth_path)),
        ],
        env=settings_env(settings),
    )
    assert result.exit_code == 0, result.output
    ingest_now(spark, settings, signals=("traces", "logs", "metrics"))
    history = ShopHistory(settings, json.loads(truth_path.read_text()), start, end)
    _made["lake"] = history
    return history
