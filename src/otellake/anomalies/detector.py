"""IsolationForest per service: trained on a history window's minutes, scoring recent ones.

Pure: feature frames in (see ``features.minute_features``), scored frame out; no lake access.

Per service, the features used are those the history has for most minutes (cpu and memory are
absent for a service that reports no gauges). A minute is scored on the features it has, by a
model trained on the history minutes that have those same features: a missing value is never
filled in. Features are log-scaled where they are ratios of scale (rates, latency, memory),
then standardized on the history; the forest uses a fixed ``random_state``.

A minute's score is IsolationForest's anomaly score (``-score_samples``: about 0.5 for ordinary
minutes, towards 1 for isolated ones). The threshold is the ``threshold_quantile`` (0.99) of
the history's own scores plus ``margin``; severity grades how far beyond it a minute lies, in
units of (threshold - median history score). A minute is an anomaly when its service has been
over the threshold for ``persistence`` consecutive minutes (2): a forest cannot score a point
beyond the history's range higher than the history's own extremes, so the threshold has to sit
among them, and a lone noisy minute is then common where an incident's run of minutes is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from otellake.anomalies.features import FEATURES
from otellake.errors import OtelLakeError

if TYPE_CHECKING:
    import pandas as pd

# Features whose size, not its absolute change, carries the signal.
LOG_SCALED = ("request_rate", "p95_ms", "memory")
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class DetectorConfig:
    min_history_minutes: int = 30
    # a feature is used when the history has it for at least this share of the minutes
    min_feature_coverage: float = 0.5
    n_estimators: int = 200
    # over the threshold: above this quantile of the history's scores by the margin
    threshold_quantile: float = 0.99
    margin: float = 0.0
    random_state: int = 0
    # an anomaly needs this many consecutive minutes over the threshold (1: every such minute)
    persistence: int = 2


@dataclass
class Detection:
    """Scored minutes (``scored``: service_name, minute, features, score, severity, is_anomaly)
    and what could not be scored, with the reason (``skipped``: service → message)."""

    scored: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    trained: dict[str, int] = field(default_factory=dict)  # service → history minutes


class TooLittleHistory(OtelLakeError):
    """No service has enough history minutes to train on."""


def _matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    values = frame[features].to_numpy(dtype="float64", copy=True)
    for j, name in enumerate(features):
        if name in LOG_SCALED:
            values[:, j] = np.log1p(np.clip(values[:, j], 0.0, None))
    return values


def _severity(excess: float) -> str:
    """low up to the threshold; beyond it, graded in units of (threshold - typical score)."""
    if excess <= 0:
        return "low"
    return "medium" if excess < 0.15 else "high" if excess < 0.4 else "critical"


def _forest(
    train: np.ndarray, rows: np.ndarray, config: DetectorConfig
) -> tuple[np.ndarray, float, float]:
    """Scores of ``rows`` by a forest of standardized ``train``; its threshold and the
    history's median score."""
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train)
    forest = IsolationForest(
        n_estimators=config.n_estimators, random_state=config.random_state
    ).fit(scaler.transform(train))
    trained = -forest.score_samples(scaler.transform(train))
    threshold = float(np.quantile(trained, config.threshold_quantile)) + config.margin
    return -forest.score_samples(scaler.transform(rows)), threshold, float(np.median(trained))


def _persistent(scored: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """Keep ``is_anomaly`` only where the service was over its threshold for ``minutes``
    consecutive minutes (this one and those before it): noise spikes are single minutes,
    incidents last. Severity still shows every minute over the threshold."""
    scored = scored.sort_values(["service_name", "minute"]).copy()
    over = scored["is_anomaly"].to_numpy(dtype=bool)
    services = scored["service_name"].to_numpy()
    minute_ns = scored["minute"].to_numpy(dtype="datetime64[ns]").astype("int64")
    run = np.zeros(len(scored), dtype=int)
    for i in range(len(scored)):
        follows = (
            i > 0 and services[i] == services[i - 1] and minute_ns[i] - minute_ns[i - 1] == 60e9
        )
        run[i] = (run[i - 1] + 1 if follows else 1) if over[i] else 0
    scored["is_anomaly"] = run >= minutes
    return scored


def detect(
    history: pd.DataFrame, recent: pd.DataFrame, config: DetectorConfig | None = None
) -> Detection:
    """Score every row of ``recent`` against a model of its service's ``history``."""
    import pandas as pd

    config = config or DetectorConfig()
    out: list[pd.DataFrame] = []
    detection = Detection(pd.DataFrame())
    for service, rows in recent.groupby("service_name", sort=True):
        past = history[history["service_name"] == service]
        if len(past) < config.min_history_minutes:
            detection.skipped[str(service)] = (
                f"{len(past)} minutes of history, need at least {config.min_history_minutes}"
            )
            continue
        usable = [f for f in FEATURES if past[f].notna().mean() >= config.min_feature_coverage]
        detection.trained[str(service)] = len(past)
        # minutes grouped by the usable features they have: one model per such set
        present = rows[usable].notna()
        for have, group in rows.groupby([present[f] for f in usable], sort=False):
            flags = have if isinstance(have, tuple) else (have,)
            features = [f for f, ok in zip(usable, flags, strict=True) if ok]
            train = past.dropna(subset=features)
            if not features or len(train) < config.min_history_minutes:
                continue
            train_x, group_x = _matrix(train, features), _matrix(group, features)
            scores, threshold, typical = _forest(train_x, group_x, config)
            # in units of (threshold - typical history score)
            excess = (scores - threshold) / max(threshold - typical, 1e-6)
            scored = group.copy()
            scored["score"] = scores
            scored["severity"] = [_severity(e) for e in excess]
            scored["is_anomaly"] = excess > 0
            scored["features_used"] = ",".join(features)
            out.append(scored)
    if out and config.persistence > 1:
        out = [_persistent(pd.concat(out), config.persistence)]
    if not out and detection.skipped:
        reasons = "; ".join(f"{s}: {why}" for s, why in detection.skipped.items())
        raise TooLittleHistory(f"too little history to train on ({reasons})")
    columns = [*recent.columns, "score", "severity", "is_anomaly", "features_used"]
    detection.scored = (
        pd.concat(out, ignore_index=True).sort_values(["minute", "service_name"], ignore_index=True)
        if out
        else pd.DataFrame(columns=columns)
    )
    return detection
