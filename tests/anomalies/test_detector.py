"""The detector alone, on hand-made feature frames (no lake)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from otellake.anomalies.detector import DetectorConfig, TooLittleHistory, detect
from otellake.anomalies.features import FEATURES

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def frame(service: str, minutes: range, seed: int, **overrides: float | None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(minutes)
    data = {
        "service_name": [service] * n,
        "minute": [T0 + timedelta(minutes=m) for m in minutes],
        "request_rate": rng.normal(5.0, 0.3, n),
        "error_rate": np.abs(rng.normal(0.01, 0.005, n)),
        "p95_ms": rng.normal(40.0, 3.0, n),
        "cpu": rng.normal(0.1, 0.01, n),
        "memory": rng.normal(5e8, 1e6, n),
    }
    for name, value in overrides.items():
        data[name] = [np.nan if value is None else value] * n
    return pd.DataFrame(data)


def test_minutes_far_out_in_a_row_are_anomalies_a_lone_one_is_not() -> None:
    history = frame("cart", range(600), seed=1)  # ten hours
    recent = frame("cart", range(600, 630), seed=2)
    # as the shop's incidents look: three minutes slower, cpu busy, some failures ...
    recent.loc[10:12, ["p95_ms", "cpu", "error_rate"]] = [400.0, 0.4, 0.2]
    # ... and one lone minute of failures
    recent.loc[20, ["error_rate", "p95_ms", "request_rate"]] = [0.4, 90.0, 8.0]
    scored = detect(history, recent).scored
    assert list(scored.columns) == [
        *recent.columns, "score", "severity", "is_anomaly", "features_used"
    ]  # fmt: skip
    flagged = scored[scored["is_anomaly"]]
    # the second and third minute of the run (the first is a run of one so far)
    assert set(flagged["minute"]) == {T0 + timedelta(minutes=611), T0 + timedelta(minutes=612)}
    assert set(flagged["severity"]) <= {"medium", "high", "critical"}
    by_minute = scored.set_index("minute")
    for minute in (610, 620):  # over the threshold, graded, but not (yet) an anomaly
        assert by_minute.loc[T0 + timedelta(minutes=minute), "severity"] != "low"
    lone = detect(history, recent, DetectorConfig(persistence=1)).scored
    assert T0 + timedelta(minutes=620) in set(lone[lone["is_anomaly"]]["minute"])
    # the same input, the same scores (fixed random_state)
    again = detect(history, recent).scored
    assert again["score"].tolist() == scored["score"].tolist()


def test_missing_features_are_left_out_not_filled_in() -> None:
    # shipping reports no gauges at all; cart lost its gauges for the recent minutes
    history = pd.concat(
        [frame("shipping", range(60), 3, cpu=None, memory=None), frame("cart", range(60), 4)]
    )
    recent = pd.concat(
        [
            frame("shipping", range(60, 70), 5, cpu=None, memory=None),
            frame("cart", range(60, 65), 6),
            frame("cart", range(65, 70), 7, cpu=None, memory=None),
        ]
    )
    scored = detect(history, recent).scored
    used = scored.groupby("service_name")["features_used"].agg(set).to_dict()
    assert used == {
        "shipping": {"request_rate,error_rate,p95_ms"},
        "cart": {",".join(FEATURES), "request_rate,error_rate,p95_ms"},
    }
    assert scored["cpu"].isna().sum() == 15  # still missing in the output, never invented
    assert scored["score"].notna().all()


def test_too_little_history_says_how_much_there_is() -> None:
    history = frame("cart", range(10), seed=1)
    recent = frame("cart", range(10, 20), seed=2)
    with pytest.raises(TooLittleHistory, match=r"cart: 10 minutes of history, need at least 30"):
        detect(history, recent)
    # a service with enough history is scored, the other is reported as skipped
    history = pd.concat([history, frame("frontend", range(60), seed=3)])
    recent = pd.concat([recent, frame("frontend", range(60, 70), seed=4)])
    detection = detect(history, recent, DetectorConfig())
    assert set(detection.scored["service_name"]) == {"frontend"}
    assert detection.skipped == {"cart": "10 minutes of history, need at least 30"}
