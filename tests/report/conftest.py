"""The session's back-dated shop history (one lake shared with the other folders' tests)."""

from __future__ import annotations

from typing import Any

import pytest

from otellake.settings import Settings
from tests.shop_history import ShopHistory, shop_history


@pytest.fixture(scope="session")
def history(stack: Settings, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> ShopHistory:
    return shop_history(stack, spark, tmp_path_factory)
