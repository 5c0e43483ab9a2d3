"""The generator's command-line values, checked: each bad one names itself and what was expected."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

from otellake.durations import parse_duration
from otellake.errors import BadInput
from otellake.generate.run import GenerateOptions, Mode
from otellake.generate.simulate import Plan
from otellake.settings import Encoding

DEFAULT_RATE = 100.0  # spans per second
DEFAULT_DURATION = timedelta(seconds=60)
SECOND = 1_000_000_000
# The lake dates a span by ingest day when it starts more than a day in the future.
MAX_FUTURE = timedelta(days=1)


def parse_mode(text: str) -> Mode:
    if text not in get_args(Mode):
        raise BadInput(f"--mode {text!r}; expected one of {list(get_args(Mode))}")
    return text  # type: ignore[return-value]


def parse_encoding(text: str) -> Encoding:
    if text not in get_args(Encoding):
        raise BadInput(f"--encoding {text!r}; expected one of {list(get_args(Encoding))}")
    return text  # type: ignore[return-value]


def parse_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0:
        raise BadInput(f"--rate {text!r}; expected spans per second, a number > 0 such as 500")
    return rate


def parse_start(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"--start {text!r}; expected an ISO-8601 time such as 2026-01-01T00:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_duration_option(text: str) -> timedelta:
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        raise BadInput(f"--duration: {exc}") from None
    if duration <= timedelta(0):
        raise BadInput(f"--duration {text!r}; expected a duration > 0, e.g. 10m")
    return duration


def build_plan(
    spans: int | None,
    rate: str | None,
    duration: str | None,
    start: str | None,
    now: datetime | None = None,
) -> Plan:
    """``--spans N`` (over N / 100 s, or over ``--duration``, or at ``--rate``), or ``--rate R
    --duration D`` (R x D spans); by default 100 spans/s for 60 s. Starts at ``--start`` or now
    (whole seconds)."""
    if spans is not None and rate is not None and duration is not None:
        raise BadInput("give at most two of --spans, --rate and --duration")
    if spans is not None and spans < 1:
        raise BadInput(f"--spans {spans}; expected a whole number >= 1")
    per_s = parse_rate(rate) if rate is not None else None
    length = parse_duration_option(duration) if duration is not None else None
    if spans is None:
        length = length or DEFAULT_DURATION
        spans = round((per_s or DEFAULT_RATE) * length.total_seconds())
        if spans < 1:
            raise BadInput(
                f"--rate {rate} for --duration {duration or '60s'} gives no spans; "
                "expected at least one (raise either)"
            )
    elif length is None:
        length = timedelta(seconds=spans / (per_s or DEFAULT_RATE))
    begin = parse_start(start) if start is not None else (now or datetime.now(UTC))
    if start is None:
        begin = begin.replace(microsecond=0)
    current = now or datetime.now(UTC)
    if begin + length > current + MAX_FUTURE:
        raise BadInput(
            f"--start {begin:%Y-%m-%dT%H:%M:%SZ} with a {length} run ends more than a day "
            "from now; expected times the lake can date (at most a day ahead)"
        )
    start_ns = round(begin.timestamp() * 1e6) * 1000  # microsecond resolution
    duration_ns = max(1, round(length.total_seconds() * SECOND))
    return Plan(start_ns, duration_ns, spans)


def build_options(
    *,
    mode: str,
    encoding: str | None,
    default_encoding: Encoding,
    seed: int,
    spans: int | None,
    rate: str | None,
    duration: str | None,
    start: str | None,
    truth: Path | None,
    incidents: bool,
) -> GenerateOptions:
    checked_mode = parse_mode(mode)
    if encoding is not None and checked_mode == "collector":
        raise BadInput(
            f"--encoding {encoding!r} with --mode collector: the Collector writes the encoding "
            "it was started with (OTELLAKE_ENCODING); use --encoding with --mode kafka"
        )
    return GenerateOptions(
        plan=build_plan(spans, rate, duration, start),
        mode=checked_mode,
        encoding=parse_encoding(encoding) if encoding is not None else default_encoding,
        seed=seed,
        truth=truth,
        incidents=incidents,
    )
