"""Error-budget burn rates per service: the multiwindow, multi-burn-rate alerts of Google's SRE
workbook, on the lake's spans (``docs/contract.md``, "SLO").

A good event is a span of the considered kinds (SERVER and CONSUMER by default) that is not an
error (the analytics' one error rule) and, with ``--latency-threshold``, no slower than it. Per
service: ``events``, ``good`` and ``sli`` over the window [from, to); ``budget_remaining`` =
1 - (1 - sli) / (1 - objective); ``burn_W`` = (1 - SLI over [to - W, to)) / (1 - objective) for
W in 5m, 30m, 1h, 6h, 3d (0 when W holds no events; W may reach back before ``--from``); and
``alert``: ``page``, ``ticket`` or ``none``.

One scan: the spans of [min(from, to - 3d), to) (pruned by ``date``), grouped by service, with
one conditional count per window. The engines return only those integer counts; the ratios and
the alert are exact rational arithmetic in Python, so both engines give identical rows and a
burn of exactly 14.4 is not above 14.4.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from fractions import Fraction
from typing import Any, Literal

from otellake.analytics.dialects import Dialect
from otellake.analytics.engines import Engine
from otellake.analytics.queries import Query, SpanFilter, is_error_span, span_where
from otellake.analytics.window import Window
from otellake.durations import parse_duration
from otellake.errors import BadInput

DEFAULT_OBJECTIVE = 99.9  # percent
# (row column, window length), shortest first
BURN_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("burn_5m", timedelta(minutes=5)),
    ("burn_30m", timedelta(minutes=30)),
    ("burn_1h", timedelta(hours=1)),
    ("burn_6h", timedelta(hours=6)),
    ("burn_3d", timedelta(days=3)),
)
LONGEST = max(length for _, length in BURN_WINDOWS)
# Both burns of a pair above the rate: (long window, short window, rate)
PAGE_RULES = (("burn_1h", "burn_5m", Fraction("14.4")), ("burn_6h", "burn_30m", Fraction(6)))
TICKET_RULES = (("burn_3d", "burn_6h", Fraction(1)),)
Alert = Literal["page", "ticket", "none"]


@dataclass(frozen=True)
class Counts:
    """Events and good events of one span set."""

    events: int
    good: int


@dataclass(frozen=True)
class ServiceCounts:
    """What the scan returns for one service: the window's counts and each burn window's."""

    service_name: str
    window: Counts
    burn_windows: dict[str, Counts]  # by row column, e.g. "burn_5m"
    span_name: str | None = None  # with --by operation


def parse_objective(value: float | str) -> float:
    """``99.9`` or ``"99.9"`` (or ``"99.9%"``) → 99.9: a percentage strictly between 0 and 100.

    100 leaves no error budget to burn (every rate would divide by zero) and 0 makes every
    event good enough, so both are refused by name.
    """
    text = str(value).strip().removesuffix("%")
    try:
        percent = Fraction(text)
    except (ValueError, ZeroDivisionError):
        percent = Fraction(-1)
    if not 0 < percent < 100:
        raise BadInput(
            f"--objective {value!r}: expected a percentage above 0 and below 100, e.g. 99.9"
        )
    return float(percent)


def parse_latency_threshold(text: str) -> int:
    """``"300ms"`` → 300_000_000 ns (microsecond resolution, as ``--min-duration``)."""
    try:
        threshold = parse_duration(text)
    except ValueError as exc:
        raise BadInput(f"--latency-threshold: {exc}") from None
    ns = threshold // timedelta(microseconds=1) * 1000
    if ns <= 0:
        raise BadInput(f"--latency-threshold {text!r}: expected a duration above 0, e.g. 300ms")
    return ns


def objective_fraction(percent: float) -> Fraction:
    """The objective as an exact fraction: 99.9 → 999/1000 (not 0.9990000000000001)."""
    return Fraction(repr(percent)) / 100


def scan_window(window: Window) -> Window:
    """The spans to read: the window and the longest burn window ending at its end."""
    return Window(min(window.start, window.end - LONGEST), window.end)


def counts_query(f: SpanFilter, d: Dialect) -> Query:
    """Per service (and operation): events and good events in the window and in each burn
    window, from one scan with conditional aggregates."""
    params: dict[str, Any] = {}
    where = span_where(replace(f, window=scan_window(f.window)), params)
    params["window_from"] = f.window.start
    good = f"CASE WHEN {is_error_span()} THEN 0 ELSE 1 END"
    if f.latency_threshold_ns is not None:
        params["threshold_ns"] = f.latency_threshold_ns
        good = f"CASE WHEN {is_error_span()} OR duration_ns > :threshold_ns THEN 0 ELSE 1 END"
    counts = [
        "sum(CASE WHEN start_time >= :window_from THEN 1 ELSE 0 END) AS events",
        "sum(CASE WHEN start_time >= :window_from THEN good ELSE 0 END) AS good",
    ]
    for column, length in BURN_WINDOWS:
        params[f"since_{column}"] = f.window.end - length
        since = f"start_time >= :since_{column}"
        counts.append(f"sum(CASE WHEN {since} THEN 1 ELSE 0 END) AS events_{column}")
        counts.append(f"sum(CASE WHEN {since} THEN good ELSE 0 END) AS good_{column}")
    keys = "service_name, span_name" if f.by == "operation" else "service_name"
    # the hint: one partition for the final sort of the few services (as `errors`)
    sql = f"""
        SELECT {d.small_result_hint()} {keys}, {", ".join(counts)}
        FROM (SELECT {keys}, start_time, {good} AS good FROM spans WHERE {where}) s
        GROUP BY {keys}
        HAVING sum(CASE WHEN start_time >= :window_from THEN 1 ELSE 0 END) > 0
        ORDER BY {keys}"""
    return Query(sql, params, ["spans"])


def burn_rate(counts: Counts, objective: Fraction) -> Fraction:
    """(1 - SLI) / (1 - objective); 0 for a window without events."""
    if counts.events == 0:
        return Fraction(0)
    return Fraction(counts.events - counts.good, counts.events) / (1 - objective)


def alert_state(burns: dict[str, Fraction]) -> Alert:
    """``page`` if both burns of a page pair exceed its rate, else ``ticket`` likewise, else
    ``none`` (strictly above: a burn equal to the rate does not alert)."""
    if any(burns[long] > rate and burns[short] > rate for long, short, rate in PAGE_RULES):
        return "page"
    if any(burns[long] > rate and burns[short] > rate for long, short, rate in TICKET_RULES):
        return "ticket"
    return "none"


def slo_row(counts: ServiceCounts, objective: Fraction) -> dict[str, Any]:
    """The output row of one service (a window with events, so the SLI is defined)."""
    sli = Fraction(counts.window.good, counts.window.events)
    burns = {
        column: burn_rate(counts.burn_windows[column], objective) for column, _ in BURN_WINDOWS
    }
    keys: dict[str, Any] = {"service_name": counts.service_name}
    if counts.span_name is not None:
        keys["span_name"] = counts.span_name
    return {
        **keys,
        "objective": float(objective),
        "events": counts.window.events,
        "good": counts.window.good,
        "sli": float(sli),
        "budget_remaining": float(1 - (1 - sli) / (1 - objective)),
        **{column: float(burn) for column, burn in burns.items()},
        "alert": alert_state(burns),
    }


def _service_counts(row: dict[str, Any]) -> ServiceCounts:
    return ServiceCounts(
        service_name=row["service_name"],
        window=Counts(int(row["events"]), int(row["good"])),
        burn_windows={
            column: Counts(int(row[f"events_{column}"]), int(row[f"good_{column}"]))
            for column, _ in BURN_WINDOWS
        },
        span_name=row.get("span_name"),
    )


def slo(engine: Engine, f: SpanFilter) -> list[dict[str, Any]]:
    """The SLO rows of the window: one query for the counts, the ratios in Python."""
    if f.bucket_s is not None:
        raise BadInput("--bucket does not apply to slo: its burn windows are 5m, 30m, 1h, 6h, 3d")
    percent = f.objective if f.objective is not None else DEFAULT_OBJECTIVE
    objective = objective_fraction(parse_objective(percent))
    query = counts_query(f, engine.dialect)
    rows = engine.query(query.sql, query.params, query.tables)
    return [slo_row(_service_counts(r), objective) for r in rows]
