"""Durations as users write them: ``500ms``, ``5s``, ``1m``, ``1h``, ``7d``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def parse_duration(text: str) -> timedelta:
    """``"5s"`` -> ``timedelta(seconds=5)``; raises ValueError naming the bad value."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(
            f"bad duration {text!r}; expected a number and a unit of {list(_UNITS)}, e.g. 5s"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def spark_interval(text: str) -> str:
    """The same duration in the form Spark's ``trigger(processingTime=...)`` accepts."""
    millis = int(parse_duration(text).total_seconds() * 1000)
    return f"{millis} milliseconds"
