"""`analyze slo`: exact burn rates and alerts on hand-built spans, the same rows on both engines,
and the generator's error incident paging its service while it lasts (checked on its truth)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from otellake import lake, schemas
from otellake.analytics import api, publish, slo
from otellake.analytics.engines import DuckDBEngine, SparkEngine
from otellake.analytics.slo import BURN_WINDOWS, Counts, ServiceCounts
from otellake.analytics.window import Window, iso_z
from otellake.benchmark.analytics_lake import arrow_type
from otellake.cli import app
from otellake.errors import BadInput
from otellake.generate.run import GenerateOptions, generate
from otellake.generate.shop import CONSUMER, KIND_NAMES, SERVER
from otellake.generate.simulate import ERROR, Plan, SimSpan
from otellake.report.collect import collect
from otellake.report.html import render
from otellake.settings import Settings
from tests.analytics.conftest_rows import default_row
from tests.analytics.sinks import SpansOnly

BURNS = [column for column, _ in BURN_WINDOWS]
T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # the `--to` of the hand-built windows
HOUR = {"start": iso_z(T - timedelta(hours=1)), "end": iso_z(T)}
MS = 10**6


# ---- the rule, on counts (no lake) ----------------------------------------------------------


def service_counts(window: Counts, **bad: int) -> ServiceCounts:
    """1000 events in every burn window, ``bad[column]`` of them bad (0 unless given)."""
    return ServiceCounts(
        "api", window, {column: Counts(1000, 1000 - bad.get(column, 0)) for column in BURNS}
    )


def alert_of(objective: float = 99.0, **bad: int) -> str:
    row = slo.slo_row(service_counts(Counts(10, 10), **bad), slo.objective_fraction(objective))
    return str(row["alert"])


def test_burn_rates_are_exact_ratios_of_the_error_budget() -> None:
    # objective 99.9: 144 bad of 10000 burns exactly 14.4 (in floats 14.400000000001555)
    counts = ServiceCounts(
        "api",
        Counts(7, 5),
        {column: Counts(10_000, 10_000 - 144) for column in BURNS} | {"burn_3d": Counts(0, 0)},
    )
    row = slo.slo_row(counts, slo.objective_fraction(99.9))
    assert row == {
        "service_name": "api",
        "objective": 0.999,
        "events": 7,
        "good": 5,
        "sli": 5 / 7,
        "budget_remaining": float(1 - Fraction(2, 7) * 1000),
        "burn_5m": 14.4,
        "burn_30m": 14.4,
        "burn_1h": 14.4,
        "burn_6h": 14.4,
        "burn_3d": 0.0,  # a window without events burns nothing
        "alert": "page",  # 6h and 30m both above 6
    }
    assert slo.objective_fraction(99.9) == Fraction(999, 1000)
    assert slo.burn_rate(Counts(0, 0), Fraction(999, 1000)) == 0
    assert slo.burn_rate(Counts(4, 0), Fraction(1, 2)) == 2  # everything bad: 1 / (1 - 0.5)


def test_page_needs_both_burns_of_a_pair_strictly_above_the_rate() -> None:
    # objective 99: a burn is bad/10 with 1000 events, so 144 bad is exactly 14.4
    assert alert_of(burn_1h=145, burn_5m=145) == "page"
    assert alert_of(burn_1h=145, burn_5m=144) == "none"
    assert alert_of(burn_1h=144, burn_5m=145) == "none"
    assert alert_of(burn_6h=61, burn_30m=61) == "page"
    assert alert_of(burn_6h=60, burn_30m=61) == "none"
    assert alert_of(burn_6h=61, burn_30m=60) == "none"
    # a pair with a burn at or below its rate does not page even if the other pair's one does
    assert alert_of(burn_1h=145, burn_5m=144, burn_6h=61, burn_30m=60) == "none"


def test_ticket_needs_the_3d_and_6h_burns_above_1() -> None:
    assert alert_of(burn_3d=11, burn_6h=11) == "ticket"
    assert alert_of(burn_3d=10, burn_6h=11) == "none"
    assert alert_of(burn_3d=11, burn_6h=10) == "none"
    assert alert_of(burn_3d=11, burn_6h=61, burn_30m=61) == "page"  # page wins
    assert alert_of(burn_3d=11, burn_6h=61, burn_30m=60) == "ticket"


def test_objective_and_threshold_are_checked_by_name() -> None:
    assert slo.parse_objective("99.9") == 99.9
    assert slo.parse_objective("99.95%") == 99.95
    assert slo.parse_objective(95) == 95.0
    for bad in ("100", "0", "-1", "abc", "nan", "inf", "1/0", ""):
        with pytest.raises(BadInput) as info:
            slo.parse_objective(bad)
        assert str(info.value) == (
            f"--objective {bad!r}: expected a percentage above 0 and below 100, e.g. 99.9"
        )
    assert slo.parse_latency_threshold("300ms") == 300 * MS
    assert slo.parse_latency_threshold("1.5s") == 1500 * MS
    with pytest.raises(BadInput, match=r"--latency-threshold '0ms': expected a duration above"):
        slo.parse_latency_threshold("0ms")
    with pytest.raises(BadInput, match=r"--latency-threshold: bad duration 'fast'"):
        slo.parse_latency_threshold("fast")
    with pytest.raises(BadInput, match=r"^--objective is for `analyze slo` only$"):
        api.make_filter("latency", since="1h", objective="99")
    with pytest.raises(BadInput, match=r"--objective and --latency-threshold are for"):
        api.make_filter("errors", since="1h", objective="99", latency_threshold="1s")
    default = api.make_filter("slo", since="1h")
    assert (default.objective, default.latency_threshold_ns) == (99.9, None)


def test_one_scan_reads_three_days_back_pruned_by_date() -> None:
    f = api.make_filter("slo", **HOUR)
    query = slo.counts_query(f, DuckDBEngine.dialect)
    assert query.sql.count("FROM spans") == 1
    assert query.params["from_day"] == date(2026, 3, 7)  # to - 3d
    assert query.params["to_day"] == date(2026, 3, 10)
    assert query.params["from_ts"] == T - timedelta(days=3)
    assert query.params["window_from"] == T - timedelta(hours=1)
    assert query.params["since_burn_5m"] == T - timedelta(minutes=5)
    longer = api.make_filter("slo", start=iso_z(T - timedelta(days=5)), end=iso_z(T))
    assert slo.counts_query(longer, DuckDBEngine.dialect).params["from_day"] == date(2026, 3, 5)


# ---- hand-built spans -------------------------------------------------------------------------


def span(
    service: str, name: str, kind: str, minutes_before: float, ms: float = 100, **extra: Any
) -> dict[str, Any]:
    start = T - timedelta(minutes=minutes_before)
    start_ns = int(start.timestamp()) * 10**9
    return default_row("spans") | {
        "trace_id": f"{abs(hash((service, name, minutes_before))):032x}"[-32:],
        "span_id": f"{abs(hash((service, minutes_before, ms))):016x}"[-16:],
        "service_name": service,
        "span_name": name,
        "span_kind": kind,
        "start_time": start,
        "start_time_unix_nano": start_ns,
        "end_time_unix_nano": start_ns + int(ms * MS),
        "duration_ns": int(ms * MS),
        "status_code": "UNSET",
        "resource_attributes": {"service.name": service},
        "date": start.date(),
        **extra,
    }


def status(code: int) -> dict[str, Any]:
    return {"span_attributes": {"http.response.status_code": str(code)}}


PAY, CART = "POST /pay", "GET /cart"
SPANS = [
    # checkout: in the last hour 7 events, 2 errors (at -2m and -10m)
    span("checkout", PAY, "SERVER", 2, status_code="ERROR"),
    span("checkout", PAY, "SERVER", 3, ms=400),  # slower than 300ms
    span("checkout", PAY, "SERVER", 4),
    span("checkout", PAY, "SERVER", 7, **status(404)),  # a 4xx is not an error
    span("checkout", CART, "SERVER", 10, **status(503)),  # a 5xx SERVER span is
    span("checkout", PAY, "SERVER", 20, ms=300),  # exactly the threshold: good
    span("checkout", PAY, "SERVER", 45),
    span("checkout", PAY, "SERVER", 90, status_code="ERROR"),  # before --from, in 6h
    span("checkout", PAY, "SERVER", 2 * 24 * 60, status_code="ERROR"),  # in 3d
    span("checkout", PAY, "SERVER", 4 * 24 * 60, status_code="ERROR"),  # before 3d
    span("checkout", PAY, "SERVER", 0, status_code="ERROR"),  # at --to: outside
    span("checkout", "charge", "CLIENT", 1, status_code="ERROR"),  # not SERVER/CONSUMER
    span("checkout", "validate", "INTERNAL", 1, status_code="ERROR"),
    span("checkout", "charge", "CLIENT", 1, **status(503)),  # 5xx rule: SERVER spans only
    # worker: an error exactly 30 minutes before --to (inside the 30m window), nothing in 5m
    span("worker", "consume", "CONSUMER", 30, status_code="ERROR"),
    span("worker", "consume", "CONSUMER", 50),
    span("worker", "consume", "CONSUMER", 180),
    span("worker", "consume", "CONSUMER", 181),
    # cart: no event in the last hour, so no row for it
    span("cart", "GetCart", "SERVER", 120),
]


def expected_row(
    service: str, objective: Fraction, window: tuple[int, int], bad: dict[str, tuple[int, int]]
) -> dict[str, Any]:
    """The row worked out by hand: ``window`` = (events, good); ``bad`` = (bad, events) per
    burn window (0 events burn 0)."""
    events, good = window
    budget = 1 - objective
    burns = {column: float(Fraction(b, n) / budget) if n else 0.0 for column, (b, n) in bad.items()}
    return {
        "service_name": service,
        "objective": float(objective),
        "events": events,
        "good": good,
        "sli": good / events,
        "budget_remaining": float(1 - Fraction(events - good, events) / budget),
        **burns,
    }


CHECKOUT_BAD = {
    "burn_5m": (1, 3),
    "burn_30m": (2, 6),
    "burn_1h": (2, 7),
    "burn_6h": (3, 8),
    "burn_3d": (4, 9),
}
WORKER_BAD = {
    "burn_5m": (0, 0),
    "burn_30m": (1, 1),
    "burn_1h": (1, 2),
    "burn_6h": (1, 4),
    "burn_3d": (1, 4),
}


def write_table(settings: Settings, table: str, rows: list[dict[str, Any]]) -> None:
    """A Delta table as ingest lays it out (its partition columns), written by delta-rs."""
    from deltalake import write_deltalake

    spec = schemas.table(table)
    fields = spec.spark_schema().fields
    schema = pa.schema([pa.field(f.name, arrow_type(f.dataType)) for f in fields])
    write_deltalake(
        lake.table_path(settings, table),
        pa.Table.from_pylist(rows, schema=schema),
        partition_by=list(spec.partition_by),
        mode="append",
    )


@pytest.fixture(scope="module")
def slo_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The hand-built spans; every other table empty (the report reads them all)."""
    home: Path = tmp_path_factory.mktemp("slo")
    settings = Settings(home=home, lake=str(home / "lake"))  # type: ignore[arg-type]
    for table in schemas.table_names():
        if table != "quarantine":  # nothing here reads it
            write_table(settings, table, SPANS if table == "spans" else [])
    return settings


def rows_of(engine: Any, **options: Any) -> list[dict[str, Any]]:
    return api.run("slo", api.make_filter("slo", **(HOUR | options)), engine).rows


def test_rows_on_hand_built_spans(slo_lake: Settings) -> None:
    engine = DuckDBEngine(slo_lake)
    objective = Fraction(99, 100)
    assert rows_of(engine, objective=99) == [
        expected_row("checkout", objective, (7, 5), CHECKOUT_BAD) | {"alert": "page"},  # 1h, 5m
        expected_row("worker", objective, (2, 1), WORKER_BAD) | {"alert": "page"},  # 6h, 30m
    ]
    checkout = rows_of(engine, objective=99)[0]
    assert (checkout["burn_5m"], checkout["burn_6h"]) == (100 / 3, 37.5)
    assert checkout["budget_remaining"] == -193 / 7  # overspent: negative
    # objective 90: nothing pages, both burn more than their budget over 6h and 3d
    assert [(r["service_name"], r["alert"]) for r in rows_of(engine, objective=90)] == [
        ("checkout", "ticket"),
        ("worker", "ticket"),
    ]
    # objective 50: checkout's 3d burn is 4/9 / 0.5 = 0.889, not above 1
    half = rows_of(engine, objective="50")
    assert [(r["service_name"], r["burn_3d"], r["alert"]) for r in half] == [
        ("checkout", 8 / 9, "none"),
        ("worker", 0.5, "none"),
    ]


def test_latency_threshold_makes_slow_events_bad(slo_lake: Settings) -> None:
    rows = rows_of(DuckDBEngine(slo_lake), objective=99, latency_threshold="300ms")
    slow = {"burn_5m": (2, 3), "burn_30m": (3, 6), "burn_1h": (3, 7), "burn_6h": (4, 8)}
    assert rows[0] == expected_row(
        "checkout", Fraction(99, 100), (7, 4), CHECKOUT_BAD | slow | {"burn_3d": (5, 9)}
    ) | {"alert": "page"}
    assert rows[1]["good"] == 1  # the worker's events are all fast
    # 299 ms: the 300 ms event is slow too
    tighter = rows_of(DuckDBEngine(slo_lake), objective=99, latency_threshold="299ms")
    assert tighter[0]["good"] == 3


def test_windows_longer_than_three_days_and_filters(slo_lake: Settings) -> None:
    engine = DuckDBEngine(slo_lake)
    five_days = rows_of(engine, objective=99, start=iso_z(T - timedelta(days=5)))
    assert [r["service_name"] for r in five_days] == ["cart", "checkout", "worker"]
    checkout = five_days[1]
    # the window counts the -4d error; burn_3d still ends 3 days back
    assert (checkout["events"], checkout["good"]) == (10, 5)
    assert checkout["burn_3d"] == float(Fraction(4, 9) * 100)
    only = rows_of(engine, objective=99, service="worker")
    assert [r["service_name"] for r in only] == ["worker"]
    by_op = rows_of(engine, objective=99, by="operation")
    assert [(r["service_name"], r["span_name"], r["events"], r["good"]) for r in by_op] == [
        ("checkout", CART, 1, 0),
        ("checkout", PAY, 6, 5),
        ("worker", "consume", 2, 1),
    ]
    assert by_op[0]["burn_5m"] == 0.0 and by_op[0]["burn_30m"] == 100.0
    assert rows_of(engine, start="2026-03-01T00:00:00Z", end="2026-03-01T01:00:00Z") == []
    with pytest.raises(BadInput, match="did you mean checkout"):
        rows_of(engine, service="chekout")
    with pytest.raises(BadInput, match="--bucket does not apply to slo"):
        rows_of(engine, bucket="5m")


def test_both_engines_give_equal_rows(slo_lake: Settings, spark: Any) -> None:
    duck, on_spark = DuckDBEngine(slo_lake), SparkEngine(spark, slo_lake)
    variants: list[dict[str, Any]] = [
        {"objective": 99},
        {"objective": "99.9", "latency_threshold": "300ms"},
        {"objective": 90, "by": "operation"},
        {"objective": 99, "start": iso_z(T - timedelta(days=5))},
        {"service": "worker"},
    ]
    for options in variants:
        expected = rows_of(duck, **options)
        assert expected, options
        assert rows_of(on_spark, **options) == expected, options


def test_saved_rows_for_dashboards(slo_lake: Settings, spark: Any) -> None:
    span_filter = api.make_filter("slo", objective=99, **HOUR)
    result = api.run("slo", span_filter, SparkEngine(spark, slo_lake))
    path, written = publish.save(spark, slo_lake, result, span_filter)
    assert (path, written) == (lake.table_path(slo_lake, "analytics_slo"), 2)
    saved = spark.read.format("delta").load(path).orderBy("service_name").collect()
    assert [(r.service_name, r.alert, r.burn_30m) for r in saved] == [
        ("checkout", "page", 100 / 3),
        ("worker", "page", 100.0),
    ]
    assert json.loads(saved[0].options)["objective"] == 99.0


def test_report_has_the_slo_table(slo_lake: Settings) -> None:
    data = collect(DuckDBEngine(slo_lake), Window(T - timedelta(hours=1), T))
    section = data.sections["slo"]
    assert section["objective"] == 99.9
    assert [(r["service_name"], r["alert"]) for r in section["rows"]] == [
        ("checkout", "page"),
        ("worker", "page"),
    ]
    page = render(data)
    found = re.search(r'<section id="slo"><h2>SLO burn rates and alerts</h2>(.*?)</section>', page)
    assert found, "no SLO section"
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", found.group(1))
    # service_name, alert, events, good, sli, budget_remaining, burn_5m, ...
    assert cells[:6] == ["checkout", "page", "7", "5", "0.7143", "-284.7"]
    assert "objective 99.9 %" in found.group(1)


runner = CliRunner()
CLI_HOUR = ["--from", HOUR["start"], "--to", HOUR["end"]]


def cli(settings: Settings, *args: str) -> Any:
    return runner.invoke(
        app,
        ["analyze", "slo", *args],
        env={"OTELLAKE_LAKE": settings.lake, "COLUMNS": "250"},  # the table has 12 columns
    )


def test_command_line(slo_lake: Settings) -> None:
    doc = json.loads(cli(slo_lake, *CLI_HOUR, "--objective", "99", "--format", "json").output)
    assert doc["analysis"] == "slo" and doc["window"] == {"from": HOUR["start"], "to": HOUR["end"]}
    assert doc["rows"] == rows_of(DuckDBEngine(slo_lake), objective=99)
    csv = cli(slo_lake, *CLI_HOUR, "--format", "csv").output.splitlines()
    assert csv[0] == (
        "service_name,objective,events,good,sli,budget_remaining,"
        "burn_5m,burn_30m,burn_1h,burn_6h,burn_3d,alert"
    )
    table = cli(slo_lake, *CLI_HOUR, "--objective", "99.95", "--latency-threshold", "300ms")
    assert table.exit_code == 0 and "slo (duckdb)" in table.output
    assert "0.9995" in table.output and "page" in table.output  # not rounded to 1.000
    for args, message in (
        (["--objective", "100"], "--objective '100': expected a percentage above 0 and below"),
        (["--objective", "0"], "--objective '0': expected a percentage above 0 and below 100"),
        (["--latency-threshold", "soon"], "--latency-threshold: bad duration 'soon'"),
        (["--bucket", "5m"], "--bucket does not apply to slo"),
    ):
        bad = cli(slo_lake, *CLI_HOUR, *args)
        assert bad.exit_code == 2, (args, bad.output)
        assert message in " ".join(bad.output.split()), (args, bad.output)
    other = runner.invoke(
        app,
        ["analyze", "latency", *CLI_HOUR, "--objective", "99"],
        env={"OTELLAKE_LAKE": slo_lake.lake},
    )
    assert other.exit_code == 2 and "--objective is for `analyze slo` only" in other.output
    quiet = cli(slo_lake, "--from", "2026-03-01T00:00:00Z", "--to", "2026-03-01T01:00:00Z")
    assert quiet.exit_code == 0
    assert "no matching spans between 2026-03-01T00:00:00Z and 2026-03-01T01:00:00Z" in (
        quiet.output
    )


# ---- the generator's error incident -----------------------------------------------------------

RUN_START = datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
RUN_HOURS = 6  # the incident (70-80 % of the run) is then 36 minutes, 60% of a 1h window
RATE = 20  # spans per second: payment, the least busy service that can fail, has ~4 a minute
SEED = 7  # its error incident is on payment, whose baseline (2 % errors) burns 2x at 99 %
INCIDENT_OBJECTIVE = 99


class ServerSpans(SpansOnly):
    """A generator sink that keeps the SERVER and CONSUMER spans as lake rows (the spans an
    SLO counts; other kinds and the logs and metrics are dropped)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self._neutral = default_row("spans")

    def send_spans(self, spans: list[SimSpan]) -> None:
        self.rows.extend(self._row(s) for s in spans if s.op.kind in (SERVER, CONSUMER))

    def _row(self, s: SimSpan) -> dict[str, Any]:
        start = datetime.fromtimestamp(s.start // 1000 / 1e6, UTC)
        return self._neutral | {
            "trace_id": s.trace_id.hex(),
            "span_id": s.span_id.hex(),
            "parent_span_id": s.parent_id.hex(),
            "service_name": s.op.service,
            "span_name": s.op.name,
            "span_kind": KIND_NAMES[s.op.kind],
            "start_time": start,
            "start_time_unix_nano": s.start,
            "end_time_unix_nano": s.end,
            "duration_ns": s.end - s.start,
            "status_code": "ERROR" if s.status == ERROR else "UNSET",
            "resource_attributes": {"service.name": s.op.service},
            "span_attributes": {k: _render(v) for k, v in s.attributes()},
            "date": start.date(),
        }


def _render(value: Any) -> str:
    """An attribute value as the lake stores it (ints in base 10, bools true/false)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture(scope="module")
def incident_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Any]:
    """A six-hour generated run with its incidents, and its truth (no Kafka: the spans go
    straight to a Delta table)."""
    home: Path = tmp_path_factory.mktemp("slo-incident")
    settings = Settings(home=home, lake=str(home / "lake"))  # type: ignore[arg-type]
    start_ns = int(RUN_START.timestamp()) * 10**9
    plan = Plan(start_ns, RUN_HOURS * 3600 * 10**9, RUN_HOURS * 3600 * RATE)
    sink = ServerSpans()
    result = generate(None, GenerateOptions(plan, seed=SEED), sink=sink)
    write_table(settings, "spans", sink.rows)
    return settings, result.truth


def alert_at(engine: Any, service: str, to: datetime) -> dict[str, Any]:
    (row,) = rows_of(
        engine,
        objective=INCIDENT_OBJECTIVE,
        service=service,
        start=iso_z(to - timedelta(hours=1)),
        end=iso_z(to),
    )
    return row


def test_error_incident_pages_its_service_while_it_lasts(
    incident_run: tuple[Settings, Any], spark: Any
) -> None:
    settings, truth = incident_run
    duck = DuckDBEngine(settings)
    # over the run, events and good events per service are the truth's spans and non-errors
    whole = {"start": truth["window"]["from"], "end": truth["window"]["to"]}
    rows = rows_of(duck, objective=INCIDENT_OBJECTIVE, **whole)
    assert {r["service_name"]: (r["events"], r["good"]) for r in rows} == {
        t["service_name"]: (t["spans"], t["spans"] - t["error_spans"])
        for t in truth["errors"]["by_service"]
    }
    assert rows_of(SparkEngine(spark, settings), objective=INCIDENT_OBJECTIVE, **whole) == rows

    (incident,) = [i for i in truth["incidents"] if i["kind"] == "errors"]
    service = incident["service_name"]
    began = datetime.fromisoformat(incident["from"].replace("Z", "+00:00"))
    ended = datetime.fromisoformat(incident["to"].replace("Z", "+00:00"))
    run_end = datetime.fromisoformat(truth["window"]["to"].replace("Z", "+00:00"))
    assert (service, ended - began) == ("payment", timedelta(minutes=36))
    # before: the baseline overspends a 99 % objective (a ticket) but does not page
    assert alert_at(duck, service, began)["alert"] == "ticket"
    # at its end the last hour is mostly incident: the 1h and 5m burns are both above 14.4
    last = alert_at(duck, service, ended)
    assert last["alert"] == "page", last
    assert last["burn_1h"] > 14.4 and last["burn_5m"] > 14.4
    # once the 30m window has passed (and the 5m one long before), no page until the run ends
    to = ended + timedelta(minutes=30)
    while to <= run_end:
        after = alert_at(duck, service, to)
        assert after["alert"] != "page", (to, after)
        assert after["burn_30m"] < 6 and after["burn_5m"] < 14.4, (to, after)
        to += timedelta(minutes=5)
