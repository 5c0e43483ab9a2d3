"""A generator sink for analytics tests that only need the spans (no logs, no metrics, no
encoding, nothing to close)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from otellake.generate.simulate import SimLog, SimSpan


class SpansOnly:
    """The generator's sink protocol with everything but ``send_spans`` a no-op; subclasses
    keep the spans as the rows they need."""

    def __init__(self) -> None:
        self.records: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()

    def send_spans(self, spans: list[SimSpan]) -> None:
        raise NotImplementedError

    def send_logs(self, logs: list[SimLog]) -> None:
        pass

    def send_metrics(self, request: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass
