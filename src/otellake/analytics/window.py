"""The time window and buckets of an analysis: ``--since 1h`` or ``--from T --to T``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from otellake.durations import parse_duration
from otellake.errors import BadInput

BUCKETS = {"1m": 60, "5m": 300, "1h": 3600}


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    def iso(self) -> dict[str, str]:
        return {"from": iso_z(self.start), "to": iso_z(self.end)}


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"{option} {text!r}: expected an ISO-8601 time such as 2026-11-26T14:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_window(
    since: str | None, start: str | None, end: str | None, now: datetime | None = None
) -> Window:
    """``--since D`` is [now - D, now); ``--from/--to`` are explicit; default is 1h."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if since is not None and (start is not None or end is not None):
        raise BadInput("give either --since or --from/--to, not both")
    if start is not None or end is not None:
        if start is None or end is None:
            raise BadInput("--from and --to go together")
        window = Window(parse_instant(start, "--from"), parse_instant(end, "--to"))
    else:
        try:
            span = parse_duration(since or "1h")
        except ValueError as exc:
            raise BadInput(f"--since: {exc}") from None
        window = Window(now - span, now)
    if window.end <= window.start:
        raise BadInput(
            f"empty window: --from {iso_z(window.start)} is not before --to {iso_z(window.end)}"
        )
    return window


def bucket_seconds(bucket: str | None) -> int | None:
    if bucket is None:
        return None
    if bucket not in BUCKETS:
        raise BadInput(f"unknown bucket {bucket!r}; expected one of {list(BUCKETS)}")
    return BUCKETS[bucket]


def day_range(window: Window) -> tuple[date, date]:
    """The partition dates a window touches (for pruning)."""
    last = window.end - timedelta(microseconds=1)
    return window.start.date(), last.date()
