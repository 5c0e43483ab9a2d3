"""Kafka security settings -> each client's options, the broker's properties, the Collector's
config: one source, no secret in any file we write."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr, ValidationError

from otellake import kafka_clients, kafka_security, provision
from otellake.errors import BadInput
from otellake.settings import Settings
from otellake.stack import collector, kafka_broker

SECRET = "Pw-4f1c-distinctive"


def sasl(mechanism: str = "SCRAM-SHA-256", **extra: object) -> Settings:
    values: dict[str, object] = {
        "home": "/tmp/otellake-security-unit",
        "kafka_bootstrap": "127.0.0.1:19092",
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": mechanism,
        "kafka_username": "lake",
        "kafka_password": SecretStr(SECRET),
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_plaintext_adds_nothing() -> None:
    options = kafka_security.client_options(Settings())
    assert (options.python, options.spark, options.collector, options.env) == ({}, {}, {}, {})
    assert kafka_clients.spark_options(Settings()) == {"kafka.bootstrap.servers": "127.0.0.1:9092"}


@pytest.mark.parametrize(
    ("mechanism", "module"),
    [
        ("PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule"),
        ("SCRAM-SHA-256", "org.apache.kafka.common.security.scram.ScramLoginModule"),
        ("SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule"),
    ],
)
def test_sasl_reaches_every_client(mechanism: str, module: str) -> None:
    options = kafka_security.client_options(sasl(mechanism))
    assert options.python == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "lake",
        "sasl_plain_password": SECRET,
    }
    assert options.spark == {
        "kafka.security.protocol": "SASL_PLAINTEXT",
        "kafka.sasl.mechanism": mechanism,
        "kafka.sasl.jaas.config": f'{module} required username="lake" password="{SECRET}";',
    }
    assert options.collector == {
        "auth": {
            "sasl": {
                "mechanism": mechanism,
                "username": "lake",
                "password": "${env:OTELLAKE_KAFKA_PASSWORD}",
            }
        }
    }
    assert options.env == {"OTELLAKE_KAFKA_PASSWORD": SECRET}
    assert SECRET not in repr(options)
    assert kafka_clients.client_config(sasl(mechanism))["sasl_plain_password"] == SECRET


def test_tls_with_a_ca_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    options = kafka_security.client_options(
        sasl("PLAIN", kafka_security_protocol="SASL_SSL", kafka_ca_file=ca)
    )
    assert options.python["ssl_cafile"] == str(ca)
    assert options.spark["kafka.ssl.truststore.type"] == "PEM"
    assert options.spark["kafka.ssl.truststore.location"] == str(ca)
    assert options.collector["tls"] == {"ca_file": str(ca)}
    # TLS without our own CA: the system's CAs (the Collector needs an empty tls block)
    plain_tls = kafka_security.client_options(Settings(kafka_security_protocol="SSL"))
    assert plain_tls.python == {"security_protocol": "SSL"}
    assert plain_tls.collector == {"tls": {}}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "PLAIN"},
            "OTELLAKE_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs OTELLAKE_KAFKA_USERNAME, "
            "OTELLAKE_KAFKA_PASSWORD",
        ),
        (
            {"kafka_username": "lake"},
            "OTELLAKE_KAFKA_SECURITY_PROTOCOL is PLAINTEXT; expected SASL_PLAINTEXT or SASL_SSL",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_ca_file": "/nonexistent.pem"},
            "OTELLAKE_KAFKA_CA_FILE is set but OTELLAKE_KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ca_file": "/nonexistent.pem"},
            "OTELLAKE_KAFKA_CA_FILE=/nonexistent.pem is not a file",
        ),
    ],
)
def test_settings_that_do_not_fit_say_which(values: dict[str, object], message: str) -> None:
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.kafka_security_protocol == "SASL_PLAINTEXT":
        settings = sasl(**values)
    with pytest.raises(BadInput, match=message.replace("(", r"\(")):
        kafka_security.client_options(settings)


def test_unknown_protocol_or_mechanism_fails_at_load() -> None:
    with pytest.raises(ValidationError, match="SASL_PLAINTEXT"):
        Settings(kafka_security_protocol="SASL_PLAIN")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="SCRAM-SHA-512"):
        Settings(kafka_sasl_mechanism="SCRAM")  # type: ignore[arg-type]


def test_jaas_quoting_is_refused() -> None:
    with pytest.raises(BadInput, match="may not contain"):
        kafka_security.client_options(sasl(kafka_password=SecretStr('a"b')))


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_broker_properties_ask_for_sasl_without_the_password(mechanism: str) -> None:
    settings = sasl(mechanism)
    text = kafka_broker.server_properties(settings)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["listeners"] == (
        f"SASL_PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:{settings.kafka_controller_port}"
    )
    assert props["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
    )
    assert props["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == mechanism
    jaas = props[f"listener.name.sasl_plaintext.{mechanism.lower()}.sasl.jaas.config"]
    assert 'password="${env:OTELLAKE_KAFKA_PASSWORD}"' in jaas
    assert ('user_lake="${env:OTELLAKE_KAFKA_PASSWORD}"' in jaas) == (mechanism == "PLAIN")
    assert SECRET not in text
    assert kafka_broker.environment(settings)["OTELLAKE_KAFKA_PASSWORD"] == SECRET


def test_scram_user_is_formatted_from_a_salted_password(tmp_path: Path) -> None:
    command = kafka_broker.format_command(sasl("SCRAM-SHA-512", home=tmp_path))
    assert command is not None
    scram = command[command.index("--add-scram") + 1]
    assert scram.startswith("SCRAM-SHA-512=[name=lake,iterations=8192,salt=")
    assert "saltedpassword=" in scram
    assert SECRET not in " ".join(command)
    plain = kafka_broker.format_command(sasl("PLAIN", home=tmp_path))
    assert plain is not None and "--add-scram" not in plain


def test_local_broker_does_not_serve_tls() -> None:
    with pytest.raises(BadInput, match="serves PLAINTEXT or SASL_PLAINTEXT only"):
        kafka_broker.server_properties(Settings(kafka_security_protocol="SSL"))


def test_rendered_collector_config_references_the_password(tmp_path: Path) -> None:
    settings = sasl("SCRAM-SHA-256", home=tmp_path)
    text = collector.render_config(settings)
    assert SECRET not in text
    exporter = yaml.safe_load(text)["exporters"]["kafka"]
    assert exporter["auth"]["sasl"] == {
        "mechanism": "SCRAM-SHA-256",
        "username": "lake",
        "password": "${env:OTELLAKE_KAFKA_PASSWORD}",
    }
    assert "tls" not in exporter
    env = collector.environment(settings)
    assert env["OTELLAKE_KAFKA_PASSWORD"] == SECRET
    # the built Collector (kafka exporter v0.165.x) accepts these keys
    path = collector.write_config(settings)
    proc = subprocess.run(
        [str(provision.collector_binary(settings)), "validate", f"--config={path}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
