"""Ingest through a SASL broker: the Python producer, the Collector and Spark's Kafka source all
log in with the same settings; a wrong password fails fast and says so; no secret is logged.

The tests run in file order: the last one greps everything the others wrote.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pydantic import SecretStr

from otellake import kafka_clients, lake, topic_peek
from otellake.kafka_clients import KafkaAuthError
from otellake.settings import Settings
from otellake.telemetry_probe import send_probe
from tests.conftest import settings_env
from tests.otlp_builders import request, span, span_id, trace_id
from tests.security.conftest import PASSWORD, SECRETS, WRONG_PASSWORD, log_file

pytestmark = pytest.mark.services

SPANS_PER_RECORD, RECORDS = 100, 3
# A wrong password fails "in about a second" (docs/operations.md, docs/security.md). Bounds:
# 3x the slowest of 15 runs on the 2-core machine while another ingest loaded it (load 3-9):
# the login check 0.32 s, a kafka-python client with a 2 s bootstrap timeout 2.32 s,
# `otellake generate` 1.57 s and `otellake ingest` 1.51 s (Python's start included).
LOGIN_CHECK_S, CLIENT_2S_BOOTSTRAP_S, CLI_S = 0.9, 6.5, 4.5


def _cli(settings: Settings, log: Path, *args: str, timeout_s: float) -> tuple[int, str, float]:
    """Run `otellake <args>` as a user would, output kept in ``log``; (rc, output, seconds)."""
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "otellake.cli", *args],
            env=settings_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            check=False,
        )
    # (the CLI wraps long messages to the terminal width: compare words, not lines)
    return proc.returncode, " ".join(log.read_text().split()), time.monotonic() - started


def _wrong(settings: Settings) -> Settings:
    return settings.model_copy(update={"kafka_password": SecretStr(WRONG_PASSWORD)})


def test_spans_from_the_producer_and_the_collector_land_through_sasl(sasl_stack: Settings) -> None:
    settings = sasl_stack
    # SDK -> Collector -> SASL Kafka; read back with the Python consumer (same settings)
    start = topic_peek.end_offsets(settings, settings.topic_spans)
    probe = send_probe(settings, service_name="sasl-probe")
    topic_peek.read_until(
        settings,
        settings.topic_spans,
        start,
        lambda values: any(
            s.trace_id.hex() == probe.trace_id
            for v in values
            for rs in topic_peek.decode("traces", v).resource_spans  # type: ignore[attr-defined]
            for ss in rs.scope_spans
            for s in ss.spans
        ),
        timeout_s=60,
    )
    # a few hundred spans straight from the Python producer
    produced: set[tuple[str, str]] = set()
    producer = kafka_clients.producer(settings, acks="all", compression_type="zstd")
    try:
        for r in range(RECORDS):
            tid = trace_id()
            spans = [span(f"op-{r}-{i}", tid, span_id()) for i in range(SPANS_PER_RECORD)]
            produced |= {(tid.hex(), s.span_id.hex()) for s in spans}
            value = request([({"service.name": "sasl-producer"}, [("scope", "1", spans)])])
            producer.send(settings.topic_spans, value=value.SerializeToString())
        producer.flush(timeout=60)
    finally:
        producer.close()

    rc, output, seconds = _cli(
        settings,
        log_file(settings, "ingest"),
        "ingest",
        "--signal",
        "traces",
        "--available-now",
        timeout_s=600,
    )
    assert rc == 0, output[-3000:]
    print(f"ingest --available-now through SASL: {seconds:.1f}s")

    rows = DeltaTable(lake.table_path(settings, "spans")).to_pyarrow_table(
        columns=["trace_id", "span_id", "service_name"]
    )
    landed = list(zip(*(rows.column(c).to_pylist() for c in rows.column_names), strict=True))
    by_service: dict[str, set[tuple[str, str]]] = {}
    for tid_hex, sid_hex, service in landed:
        by_service.setdefault(service, set()).add((tid_hex, sid_hex))
    assert len(landed) == RECORDS * SPANS_PER_RECORD + 1
    assert by_service["sasl-producer"] == produced
    assert [tid for tid, _ in by_service["sasl-probe"]] == [probe.trace_id]


def test_wrong_password_python_clients_say_authentication_failed(sasl_stack: Settings) -> None:
    wrong = _wrong(sasl_stack)
    started = time.monotonic()
    with pytest.raises(KafkaAuthError) as preflight:
        kafka_clients.preflight(wrong)
    assert time.monotonic() - started < LOGIN_CHECK_S
    message = str(preflight.value)
    assert message.startswith(f"Kafka at {wrong.kafka_bootstrap} (OTELLAKE_KAFKA_BOOTSTRAP): ")
    assert "authentication failed for user 'otellake'" in message
    assert "invalid credentials with SASL mechanism SCRAM-SHA-256" in message
    # the right password with a mechanism the listener does not offer
    with pytest.raises(
        KafkaAuthError, match=r"offers SASL mechanisms \['SCRAM-SHA-256'\], not PLAIN"
    ):
        kafka_clients.preflight(sasl_stack.model_copy(update={"kafka_sasl_mechanism": "PLAIN"}))
    # a client built directly explains its bootstrap timeout the same way
    started = time.monotonic()
    with pytest.raises(KafkaAuthError, match="authentication failed"):
        kafka_clients.producer(wrong, bootstrap_timeout_ms=2000)
    assert time.monotonic() - started < CLIENT_2S_BOOTSTRAP_S
    # `otellake generate` (the Python producer behind a command)
    rc, output, seconds = _cli(
        wrong, log_file(wrong, "generate-wrong"), "generate", "--spans", "10", timeout_s=60
    )
    assert rc == 1, output
    assert f"Kafka at {wrong.kafka_bootstrap}" in output
    assert "authentication failed" in output
    assert seconds < CLI_S, output  # it logs in before it generates anything
    print(f"generate with a wrong password failed after {seconds:.1f}s")


def test_wrong_password_ingest_fails_fast(sasl_stack: Settings) -> None:
    wrong = _wrong(sasl_stack)
    rc, output, seconds = _cli(
        wrong,
        log_file(wrong, "ingest-wrong"),
        "ingest",
        "--signal",
        "traces",
        "--available-now",
        timeout_s=60,
    )
    assert rc == 1, output
    assert (
        f"Kafka at {wrong.kafka_bootstrap} (OTELLAKE_KAFKA_BOOTSTRAP): authentication failed"
        in (output)
    )
    assert seconds < CLI_S, output  # the login is checked before the Spark session starts
    print(f"ingest with a wrong password failed after {seconds:.1f}s")


def test_wrong_password_in_spark_itself_is_not_retried(sasl_stack: Settings) -> None:
    """Without the pre-flight check, Spark's Kafka source meets the refusal itself: the query
    fails, and the supervisor reports it instead of restarting it for minutes."""
    wrong = _wrong(sasl_stack)
    script = (
        "import sys\n"
        "from otellake import kafka_clients\n"
        "from otellake.cli import app\n"
        "kafka_clients.preflight = lambda *a, **k: True\n"
        "app(['ingest', '--signal', 'traces', '--available-now'], prog_name='otellake')\n"
    )
    log = log_file(wrong, "spark-wrong")
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            [sys.executable, "-c", script],
            env=settings_env(wrong),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
    seconds = time.monotonic() - started
    output = " ".join(log.read_text().split())
    assert proc.returncode == 1, output[-3000:]
    assert "SaslAuthenticationException" in output  # Spark's Kafka client met it
    assert (
        f"Kafka at {wrong.kafka_bootstrap} (OTELLAKE_KAFKA_BOOTSTRAP): authentication failed"
        in (output)
    )
    assert "restarting in" not in output
    print(f"Spark ingest with a wrong password (no pre-flight) failed after {seconds:.1f}s")


def test_no_secret_in_any_file_or_command_line(sasl_stack: Settings) -> None:
    """Every file under the stack's home: broker and Collector logs, the commands' output
    (Spark driver included), rendered configs, progress files, checkpoints, Kafka's data."""
    home = sasl_stack.home
    files = [p for p in home.rglob("*") if p.is_file()]
    names = {p.relative_to(home).as_posix() for p in files}
    assert {"logs/kafka.log", "logs/collector.log", "collector/config.yaml"} <= names
    assert "kafka/server.properties" in names
    leaks = [
        (p.relative_to(home).as_posix(), s)
        for p in files
        for s in SECRETS
        if s.encode() in p.read_bytes()
    ]
    assert leaks == []
    # the broker does log (its configuration among the rest), just not the secret
    assert "sasl.enabled.mechanisms = [SCRAM-SHA-256]" in (home / "logs/kafka.log").read_text()
    # nor the SCRAM verifier the storage tool prints when it creates the user
    assert "storedKey" not in (home / "logs/kafka.log").read_text()
    assert "UserScramCredentialRecord(<redacted>)" in (home / "logs/kafka.log").read_text()
    assert "${env:OTELLAKE_KAFKA_PASSWORD}" in (home / "collector/config.yaml").read_text()
    # the running services got the password through their environment, not their arguments
    for service in ("kafka", "collector"):
        pid = int((home / "run" / f"{service}.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert PASSWORD.encode() not in cmdline
