"""One detection: features of the history and the recent window from the lake, then score."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from otellake.analytics.engines import Engine
from otellake.analytics.window import Window, iso_z
from otellake.anomalies.detector import Detection, DetectorConfig, detect
from otellake.anomalies.features import FEATURES, minute_features, whole_minutes

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_HISTORY = timedelta(hours=24)


@dataclass(frozen=True)
class AnomalyRun:
    window: Window  # the whole minutes scored
    trained: Window  # the history the models learned from
    detection: Detection

    @property
    def scored(self) -> pd.DataFrame:
        return self.detection.scored

    @property
    def anomalies(self) -> pd.DataFrame:
        scored = self.detection.scored
        return scored[scored["is_anomaly"].astype(bool)]

    def rows(self, everything: bool = False) -> list[dict[str, Any]]:
        """JSON-ready rows, anomalies only unless ``everything``; newest first."""
        frame = self.scored if everything else self.anomalies
        rows = []
        for record in frame.sort_values(["minute", "score"], ascending=False).to_dict("records"):
            row: dict[str, Any] = {
                "service_name": record["service_name"],
                "minute": iso_z(record["minute"].to_pydatetime()),
            }
            for feature in FEATURES:
                value = record[feature]
                row[feature] = None if value != value else float(value)  # NaN: missing
            row |= {
                "score": round(float(record["score"]), 4),
                "severity": record["severity"],
                "is_anomaly": bool(record["is_anomaly"]),
            }
            rows.append(row)
        return rows


def run(
    engine: Engine,
    window: Window,
    history: timedelta = DEFAULT_HISTORY,
    config: DetectorConfig | None = None,
) -> AnomalyRun:
    """Train on [start - history, start) and score the whole minutes of ``window``.

    Raises ``TooLittleHistory`` when no service has enough history minutes."""
    window = whole_minutes(window)
    trained = Window(window.start - history, window.start)
    past = minute_features(engine, trained)
    recent = minute_features(engine, window)
    return AnomalyRun(window, trained, detect(past, recent, config))
