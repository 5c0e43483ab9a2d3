"""The soak (`make test-long` only): the shop through the Collector at a steady rate for
``OTELLAKE_SOAK_MINUTES`` (30) while `otellake ingest` streams all three signals; `maintain`
runs every sixth of the run (5 minutes); the ingest process group is SIGKILLed after a sixth of
the run (5 minutes) and restarted; the broker is stopped for 10 s and started again at half of
it (15 minutes).

Asserted: every span the generator sent lands once (its ids against the lake's), `trace_index`
agrees with `spans`, no log record or metric point is lost (the truth's counts), the Kafka lag
stays bounded and the stream catches up within two minutes of the last send, the ingest
driver's live heap (after a full GC, sampled with jcmd) does not grow over the last two thirds
of the run (20 minutes, from 5 minutes after the restarted JVM started), and after each
`maintain` a table holds one file per date partition plus what ingest appended while it ran.
Printed (and appended to var/reliability-figures.jsonl): those figures, freshness percentiles
(a span's send to the ingest commit that landed it), the heap samples, the driver's largest
classes when the heap window starts and at the end, and the files per table before and after
each `maintain`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from otellake import lake, topic_peek
from otellake.generate.collector_sink import CollectorSink
from otellake.generate.run import GenerateOptions, GenerateResult, generate
from otellake.generate.shop import build_shop
from otellake.generate.simulate import Plan, SimLog, SimSpan
from otellake.maintain import lake_tables, run_maintain, table_state
from otellake.settings import Settings
from otellake.stack import kafka_broker, lifecycle
from otellake.stack.processes import stop as stop_service
from tests.conftest import settings_env
from tests.reliability.accounting import progress_lines, trace_figures
from tests.reliability.conftest import SCALE, SOAK_MINUTES, SOAK_RATE, own_stack, report
from tests.reliability.heap_info import heap_used_kib

RUN_S = SOAK_MINUTES * 60
MAINTAIN_EVERY_S = RUN_S / 6
# the SIGKILL, once the first ingest committed two batches of spans; the broker restart, once
# the restarted ingest committed one
KILL_AT_S = RUN_S / 6
BROKER_RESTART_AT_S = RUN_S / 2
BROKER_OUTAGE_S = 10
# the live heap (a full GC first) every this many seconds (30 s in 30 minutes); its floor per
# group of HEAP_GROUP samples (2 minutes) leaves out the batches in flight
HEAP_EVERY_S = max(10.0, RUN_S / 60)
HEAP_GROUP = 4
# the heap's floor must not grow over the last two thirds of the run (20 minutes of 30), from
# HEAP_WARM_UP_S after the restarted JVM started (its caches fill first): fitted growth at most
# this (a leak of 2 MiB/min would fill the 2 GiB driver in half a day: 40 MiB in 20 minutes)
HEAP_WINDOW_FROM_S = RUN_S / 3
HEAP_WARM_UP_S = RUN_S / 6
HEAP_GROWTH_MAX_MIB = 48
LAG_EVERY_S = 5
# caught up this long after the last send; lag: never more than LAG_MAX_S of records behind,
# LAG_STEADY_S from two minutes after the broker is back
CATCH_UP_S = 120
LAG_MAX_S = 300
LAG_STEADY_S = 60
SIGNALS = ("traces", "logs", "metrics")

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        SCALE < 10, reason="the soak runs in `make test-long` (OTELLAKE_TEST_SCALE=10)"
    ),
]


class _Stopped(Exception):
    """The test asked the generator to stop (a failure elsewhere)."""


class PacedSink:
    """The generator's Collector sink, paced by the wall clock: each request goes out once the
    simulated time of its last item has come, so a run with ``--rate R --duration D`` starting
    now sends R spans/s for D. Notes when each request of spans went out, with its ids."""

    def __init__(self, inner: CollectorSink, stop: threading.Event) -> None:
        self.inner, self.stop = inner, stop
        self.records, self.bytes = inner.records, inner.bytes
        # (unix seconds when handed to the SDK, trace_id + span_id of each span: 24 bytes each)
        self.sent: list[tuple[float, bytes]] = []

    def _wait_until(self, ns: int) -> None:
        while (delay := ns / 1e9 - time.time()) > 0:
            if self.stop.wait(min(delay, 0.5)):
                raise _Stopped
        if self.stop.is_set():
            raise _Stopped

    def send_spans(self, spans: list[SimSpan]) -> None:
        self._wait_until(max(s.end for s in spans))
        self.sent.append((time.time(), b"".join(s.trace_id + s.span_id for s in spans)))
        self.inner.send_spans(spans)

    def send_logs(self, logs: list[SimLog]) -> None:
        self._wait_until(max(r.time for r in logs))
        self.inner.send_logs(logs)

    def send_metrics(self, request: Any) -> None:
        metric = request.resource_metrics[0].scope_metrics[0].metrics[0]
        self._wait_until(getattr(metric, metric.WhichOneof("data")).data_points[0].time_unix_nano)
        self.inner.send_metrics(request)

    def close(self) -> None:
        self.inner.close()

    def abort(self) -> None:
        self.inner.abort()

    def sent_at(self) -> dict[bytes, float]:
        """trace_id + span_id -> unix seconds when it went to the Collector."""
        return {ids[i : i + 24]: at for at, ids in self.sent for i in range(0, len(ids), 24)}


class Generator(threading.Thread):
    """`generate --mode collector --rate SOAK_RATE --duration SOAK_MINUTES`, paced."""

    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        super().__init__(name="soak-generator")
        self.settings, self.shop = settings, build_shop()
        start_ns = (time.time_ns() // 1000 + 5_000_000) * 1000  # 5 s from now, whole micros
        self.options = GenerateOptions(
            Plan(start_ns, int(RUN_S * 1e9), int(SOAK_RATE * RUN_S)), mode="collector"
        )
        self.sink = PacedSink(CollectorSink(settings, self.shop), stop)
        self.result: GenerateResult | None = None
        self.error: BaseException | None = None
        self.finished_at = 0.0

    def run(self) -> None:
        try:
            self.result = generate(self.settings, self.options, sink=self.sink, shop=self.shop)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        self.finished_at = time.monotonic()


class Ingest:
    """`otellake ingest` (all signals, default settings) as its own process group, as a
    service manager runs it; started again after the SIGKILL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.proc: subprocess.Popen[bytes] | None = None
        self.generation = 0

    def start(self) -> None:
        self.generation += 1
        log = self.log(self.generation).open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "otellake.cli", "ingest"],
            env=settings_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def log(self, generation: int) -> Path:
        path = self.settings.home / "logs" / f"soak-ingest-{generation}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def output(self) -> str:
        return "".join(self.log(g).read_text() for g in range(1, self.generation + 1))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: the driver, its JVM and Python workers."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=60)

    def stop(self) -> int | None:
        """SIGTERM: ingest stops after the batch in flight; its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def jvm_pid(self) -> int | None:
        """The Spark driver JVM of the running ingest (in its process group)."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            pgrp = int(stat.rpartition(")")[2].split()[2])
            if pgrp == self.proc.pid and b"org.apache.spark.deploy.SparkSubmit" in cmdline:
                return int(entry.name)
        return None


class Sampler(threading.Thread):
    """Calls ``sample`` every ``every_s`` seconds until stopped; keeps (seconds, value)."""

    def __init__(self, name: str, every_s: float, t0: float, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.every_s, self.t0, self.stop = every_s, t0, stop
        self.samples: list[tuple[float, Any]] = []

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            try:
                value = self.sample()
            except (OSError, ValueError, IndexError):  # a file being written: the next one
                continue
            if value is not None:
                self.samples.append((round(time.monotonic() - self.t0, 1), value))

    def sample(self) -> Any:
        raise NotImplementedError


class HeapSampler(Sampler):
    """The ingest driver's live heap in MiB, with its generation: ``jcmd GC.run`` (a full GC),
    then ``GC.heap_info``'s used."""

    def __init__(self, ingest: Ingest, t0: float, stop: threading.Event) -> None:
        super().__init__("soak-heap", HEAP_EVERY_S, t0, stop)
        self.ingest = ingest
        # the largest classes when the window starts (set by the test after the kill) and at
        # the end: what grew, should the heap grow
        self.window_from: float | None = None
        self.classes: dict[str, list[str]] = {}

    def largest_classes(self, n: int = 12) -> list[str]:
        """What fills the heap: the first rows of ``jcmd GC.class_histogram`` (instances,
        bytes, class)."""
        pid = self.ingest.jvm_pid()
        if pid is None:
            return []
        out = subprocess.run(
            ["jcmd", str(pid), "GC.class_histogram"], capture_output=True, text=True, timeout=120
        ).stdout
        rows = [line.split()[1:] for line in out.splitlines() if re.match(r"\s*\d+:\s+\d", line)]
        return [" ".join(r) for r in rows[:n]]

    def sample(self) -> tuple[int, float] | None:
        generation, pid = self.ingest.generation, self.ingest.jvm_pid()
        if pid is None:
            return None
        try:
            subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, timeout=60)
            info = subprocess.run(
                ["jcmd", str(pid), "GC.heap_info"], capture_output=True, text=True, timeout=60
            ).stdout
        except subprocess.TimeoutExpired:
            return None
        used = heap_used_kib(info)
        if used is None:  # (nothing from a dying JVM)
            return None
        if self.window_from is not None and time.monotonic() - self.t0 >= self.window_from:
            self.classes.setdefault("window_start", self.largest_classes())
        return generation, used / 1024


class LagSampler(Sampler):
    """Kafka lag per signal in records: the topic's end offsets minus the offsets of the last
    batch the query committed (its checkpoint), as a consumer group's lag is measured."""

    def __init__(self, settings: Settings, t0: float, stop: threading.Event) -> None:
        super().__init__("soak-lag", LAG_EVERY_S, t0, stop)
        self.settings = settings

    def sample(self) -> dict[str, int] | None:
        try:
            ends = {
                s: sum(topic_peek.end_offsets(self.settings, self.settings.topics[s]).values())
                for s in SIGNALS
            }
        except Exception:  # noqa: BLE001 - the broker is restarting: no sample
            return None
        return {s: ends[s] - _committed(self.settings, f"ingest_{s}") for s in SIGNALS}


def _committed(settings: Settings, query: str) -> int:
    """The offsets the query's last committed batch read up to, summed over partitions."""
    root = Path(lake.checkpoint_path(settings, query))
    done = [int(p.name) for p in (root / "commits").glob("[0-9]*") if p.name.isdigit()]
    if not done:
        return 0
    # v1 / the batch's metadata / {"<topic>": {"<partition>": offset, ...}}
    lines = (root / "offsets" / str(max(done))).read_text().splitlines()
    return sum(n for topic in json.loads(lines[2]).values() for n in topic.values())


class Maintenance(threading.Thread):
    """`maintain` of every table every ``MAINTAIN_EVERY_S``, one table at a time, in the test's
    Spark session (a scheduled job's work); per table the files before and after, the date
    partitions and the files ingest appended while it ran."""

    def __init__(self, spark: Any, settings: Settings, t0: float, stop: threading.Event) -> None:
        super().__init__(name="soak-maintain")
        self.spark, self.settings, self.t0, self.stop = spark, settings, t0, stop
        self.runs: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        due = MAINTAIN_EVERY_S
        try:
            # (the last one runs after ingest stopped, called by the test)
            while due < RUN_S - MAINTAIN_EVERY_S / 2:
                if self.stop.wait(max(0.0, due - (time.monotonic() - self.t0))):
                    return
                self.maintain()
                due += MAINTAIN_EVERY_S
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def maintain(self) -> None:
        at_s = time.monotonic() - self.t0
        tables: dict[str, dict[str, int]] = {}
        for table in lake_tables(self.settings):
            path = lake.table_path(self.settings, table)
            version = _version(path)
            result = run_maintain(self.spark, self.settings, tables=[table])["tables"][0]
            snapshot = table_state(path)
            tables[table] = {
                "before": result["before"]["files"],
                "after": snapshot.files,
                "partitions": snapshot.partitions,
                "appended_meanwhile": _ingest_files_after(path, version),
                "retried": len(result["retried"]),
            }
        self.runs.append(
            {
                "at_s": round(at_s),
                "seconds": round(time.monotonic() - self.t0 - at_s),
                "tables": tables,
            }
        )


def _log_entries(path: str, after: int = -1) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The commits of a (local) Delta table after version ``after``: version and actions."""
    for file in sorted((Path(path) / "_delta_log").glob("*.json")):
        if int(file.stem) > after:
            actions = [json.loads(line) for line in file.read_text().splitlines() if line]
            yield int(file.stem), actions


def _version(path: str) -> int:
    return max(int(f.stem) for f in (Path(path) / "_delta_log").glob("*.json"))


def _commit_info(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return next((a["commitInfo"] for a in actions if "commitInfo" in a), {})


def _is_ingest(actions: list[dict[str, Any]]) -> bool:
    return "app_id" in (_commit_info(actions).get("userMetadata") or "")


def _ingest_files_after(path: str, version: int) -> int:
    """Files of the current snapshot that ingest appended in commits after ``version``."""
    from deltalake import DeltaTable

    current = {u.removeprefix("file://") for u in DeltaTable(path).file_uris()}
    added = {
        str(Path(path) / urllib.parse.unquote(a["add"]["path"]))
        for _, actions in _log_entries(path, after=version)
        if _is_ingest(actions)
        for a in actions
        if "add" in a
    }
    return len(current & added)


def _landing_times(path: str) -> dict[bytes, float]:
    """trace_id + span_id -> unix seconds of the ingest commit that first added the span (the
    files it added stay on disk until VACUUM's 168 h)."""
    import pyarrow.parquet as pq

    landed: dict[bytes, float] = {}
    for _, actions in _log_entries(path):
        if not _is_ingest(actions):
            continue
        at = _commit_info(actions)["timestamp"] / 1000
        for a in actions:
            if "add" in a:
                file = Path(path) / urllib.parse.unquote(a["add"]["path"])
                ids = pq.read_table(file, columns=["trace_id", "span_id"]).to_pydict()
                for t, s in zip(ids["trace_id"], ids["span_id"], strict=True):
                    landed.setdefault(bytes.fromhex(t + s), at)
    return landed


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 2)}


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def _rows(settings: Settings, table: str) -> int:
    path = lake.table_path(settings, table)
    return table_state(path).rows if Path(path, "_delta_log").is_dir() else 0


def _distinct_rows(spark: Any, settings: Settings, table: str) -> tuple[int, int]:
    """(rows, distinct rows) of a table, rows compared whole (as JSON)."""
    from pyspark.sql import functions as F

    df = spark.read.format("delta").load(lake.table_path(settings, table))
    keyed = df.select(F.sha2(F.to_json(F.struct(*df.columns)), 256).alias("k"))
    return keyed.count(), keyed.distinct().count()


def _batches(settings: Settings) -> int:
    return len(progress_lines(settings, "ingest_traces"))


@dataclass
class Soak:
    """What one soak run did and saw."""

    settings: Settings
    t0: float = field(default_factory=time.monotonic)
    t0_unix: float = field(default_factory=time.time)
    events: dict[str, float] = field(default_factory=dict)
    caught_up_s: float = 0.0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def mark(self, event: str) -> None:
        self.events[event] = round(self.now(), 1)


@pytest.fixture(scope="module")
def soak_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A broker and Collector of the soak's own: it restarts the broker, and the lake must
    hold exactly what the generator sent through the Collector's topics."""
    yield from own_stack(tmp_path_factory, "soak")


@pytest.mark.timeout(int(RUN_S + 1800))
def test_soak_through_the_collector_with_maintain_a_sigkill_and_a_broker_restart(
    soak_stack: Settings, spark: Any
) -> None:
    settings = soak_stack
    soak = Soak(settings)
    stop = threading.Event()
    generator = Generator(settings, stop)
    ingest = Ingest(settings)
    heap = HeapSampler(ingest, soak.t0, stop)
    lag = LagSampler(settings, soak.t0, stop)
    maintenance = Maintenance(spark, settings, soak.t0, stop)
    try:
        ingest.start()
        for thread in (generator, heap, lag, maintenance):
            thread.start()
        batches_at_kill = 0
        while generator.is_alive():
            if "kill" not in soak.events and soak.now() >= KILL_AT_S and _batches(settings) >= 2:
                ingest.kill()
                soak.mark("kill")
                batches_at_kill = _batches(settings)
                ingest.start()
                heap.window_from = max(HEAP_WINDOW_FROM_S, soak.now() + HEAP_WARM_UP_S)
            elif (
                "kill" in soak.events
                and "broker_stop" not in soak.events
                and soak.now() >= BROKER_RESTART_AT_S
                and _batches(settings) > batches_at_kill
            ):
                soak.mark("broker_stop")
                assert stop_service(
                    kafka_broker.files(settings), str(kafka_broker.properties_file(settings))
                )
                time.sleep(BROKER_OUTAGE_S)
                lifecycle.up(settings, progress=lambda _m: None)
                soak.mark("broker_up")
            else:
                assert ingest.alive(), ingest.output()[-3000:]
                assert maintenance.error is None, repr(maintenance.error)
                time.sleep(1)
        generator.join()
        assert generator.error is None, repr(generator.error)
        assert generator.result is not None
        assert {"kill", "broker_stop"} <= soak.events.keys(), soak.events
        # the stream catches up: every table holds what was sent
        truth = generator.result.truth["tables"]
        while time.monotonic() < generator.finished_at + CATCH_UP_S:
            if all(_rows(settings, t) >= n for t, n in truth.items()):
                break
            assert ingest.alive(), ingest.output()[-3000:]
            time.sleep(1)
        soak.caught_up_s = round(time.monotonic() - generator.finished_at, 1)
        maintenance.join()
        assert maintenance.error is None, repr(maintenance.error)
        heap.classes["end"] = heap.largest_classes()
        assert ingest.stop() == 0, ingest.output()[-3000:]
        maintenance.maintain()  # the last one, with ingest stopped
    finally:
        stop.set()
        ingest.kill()
        for thread in (generator, heap, lag, maintenance):
            if thread.is_alive():
                thread.join(timeout=600)
    _check(soak, spark, generator, ingest, heap, lag, maintenance)


def _check(
    soak: Soak,
    spark: Any,
    generator: Generator,
    ingest: Ingest,
    heap: HeapSampler,
    lag: LagSampler,
    maintenance: Maintenance,
) -> None:
    from deltalake import DeltaTable

    settings, events = soak.settings, soak.events
    assert generator.result is not None
    truth = generator.result.truth["tables"]
    sent = generator.sink.sent_at()
    assert len(sent) == generator.result.spans == truth["spans"]

    # spans: every id sent, once
    ids = DeltaTable(lake.table_path(settings, "spans")).to_pyarrow_table(
        columns=["trace_id", "span_id"]
    )
    landed = [
        bytes.fromhex(t + s)
        for t, s in zip(
            ids.column("trace_id").to_pylist(), ids.column("span_id").to_pylist(), strict=True
        )
    ]
    landed_set = set(landed)
    traces = trace_figures(spark, settings)
    # logs and metric points: none lost (the stream deduplicates spans only: rows compared)
    other = {}
    for table, expected in truth.items():
        if table not in ("spans", "trace_index") and expected:
            rows, distinct = _distinct_rows(spark, settings, table)
            other[table] = {"truth": expected, "rows": rows, "distinct": distinct}

    # freshness: a span's send to the ingest commit that landed it; steady: sent from two
    # minutes after the broker was back
    landing = _landing_times(lake.table_path(settings, "spans"))
    freshness = [landing[k] - at for k, at in sent.items() if k in landing]
    steady_from = events["broker_up"] + 120
    steady = [
        landing[k] - at
        for k, at in sent.items()
        if k in landing and at - soak.t0_unix >= steady_from
    ]

    # Kafka lag, in records and in seconds of the topic's average record rate
    records = {
        s: sum(topic_peek.end_offsets(settings, settings.topics[s]).values()) for s in SIGNALS
    }
    lag_s = {
        s: [(at, n / (records[s] / RUN_S)) for at, v in lag.samples if (n := v[s]) >= 0]
        for s in SIGNALS
        if records[s]
    }
    lag_figures = {
        s: {
            "records": records[s],
            "max_lag_records": max((v[s] for _, v in lag.samples), default=0),
            "max_lag_s": round(max((x for _, x in points), default=0.0), 1),
            "max_lag_steady_s": round(
                max((x for at, x in points if at >= steady_from), default=0.0), 1
            ),
        }
        for s, points in lag_s.items()
    }

    # heap: the samples of the last ingest JVM in the window; the floor of each group of
    # HEAP_GROUP samples
    window = [
        (at / 60, mib)
        for at, (generation, mib) in heap.samples
        if generation == ingest.generation and at >= (heap.window_from or RUN_S)
    ]
    floors = [
        min(window[i : i + HEAP_GROUP], key=lambda p: p[1])
        for i in range(0, len(window) - HEAP_GROUP + 1, HEAP_GROUP)
    ]
    slope = _slope(floors) if len(floors) >= 2 else float("nan")
    growth = slope * (window[-1][0] - window[0][0]) if len(floors) >= 2 else float("nan")

    output = ingest.output()
    figures: dict[str, Any] = {
        "minutes": SOAK_MINUTES,
        "rate": SOAK_RATE,
        "spans_sent": len(sent),
        "spans_landed": len(landed),
        "lost": len(sent.keys() - landed_set),
        "duplicated": len(landed) - len(landed_set),
        "unexpected": len(landed_set - sent.keys()),
        "trace_index_mismatches": traces["index_mismatches"],
        "quarantined": traces["quarantined"],
        "logs_and_metrics": other,
        "events_s": events,
        "supervisor_restarts": output.count("restarting in"),
        "batches_already_in": output.count("already in"),
        "duplicate_spans_dropped": sum(
            b["duplicates"] for b in progress_lines(settings, "ingest_traces")
        ),
        "caught_up_s": soak.caught_up_s,
        "kafka_lag": lag_figures,
        "freshness_s": _percentiles(freshness),
        "freshness_steady_s": _percentiles(steady),
        "heap_live_mib": [(round(at), g, round(mib)) for at, (g, mib) in heap.samples],
        "heap_floors_mib": [(round(m, 1), round(mib)) for m, mib in floors],
        "heap_slope_mib_per_min": round(slope, 2),
        "heap_growth_mib": round(growth, 1),
        "heap_largest_classes": heap.classes,
        "maintain": maintenance.runs,
    }
    report("soak", **figures)

    assert (figures["lost"], figures["duplicated"], figures["unexpected"]) == (0, 0, 0)
    assert traces["index_mismatches"] == 0 and traces["quarantined"] == 0
    for table, counts in other.items():
        assert counts["distinct"] == counts["truth"], (table, counts)
    # bounded lag, and the stream caught up after the last send
    assert soak.caught_up_s < CATCH_UP_S
    for s, f in lag_figures.items():
        assert f["max_lag_s"] <= LAG_MAX_S and f["max_lag_steady_s"] <= LAG_STEADY_S, (s, f)
    # a flat heap
    assert len(floors) >= 2, heap.samples
    assert growth <= HEAP_GROWTH_MAX_MIB, floors
    # maintenance bounds the small files: one per date partition, plus ingest's appends
    assert len(maintenance.runs) >= 3
    for run in maintenance.runs:
        for table, files in run["tables"].items():
            assert files["after"] <= files["partitions"] + files["appended_meanwhile"], (
                table,
                run,
            )
