"""Kafka security from the one settings object, as each kind of client spells it.

``OTELLAKE_KAFKA_SECURITY_PROTOCOL``, ``_SASL_MECHANISM``, ``_USERNAME``, ``_PASSWORD`` and
``_CA_FILE`` become, in :func:`client_options`:

- kafka-python keyword arguments (``security_protocol``, ``sasl_plain_password``, ...),
- Spark Kafka source options (``kafka.security.protocol``, ``kafka.sasl.jaas.config``, ...),
- the Collector kafka exporter's ``auth`` / ``tls`` blocks, whose password is a
  ``${env:OTELLAKE_KAFKA_PASSWORD}`` reference: the rendered config never holds the secret.

Nothing else in the package spells a client's security option (the local broker's server side
is in ``stack/kafka_broker.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from otellake.errors import BadInput
from otellake.settings import Settings

PASSWORD_ENV = "OTELLAKE_KAFKA_PASSWORD"

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


@dataclass(frozen=True)
class KafkaClientOptions:
    """The same security settings, once per kind of client (empty when Kafka is open)."""

    python: dict[str, Any] = field(default_factory=dict)
    """kafka-python ``KafkaProducer`` / ``KafkaConsumer`` / ``KafkaAdminClient`` kwargs."""
    spark: dict[str, str] = field(default_factory=dict)
    """Spark Kafka source/sink options (``kafka.``-prefixed consumer configs)."""
    collector: dict[str, Any] = field(default_factory=dict)
    """Keys merged into ``exporters.kafka`` of the Collector config (``auth``, ``tls``)."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment for the ``${env:...}`` password references (the Collector, the local broker)."""

    def __repr__(self) -> str:  # the options hold the password: never print them whole
        return (
            f"KafkaClientOptions(python={sorted(self.python)}, spark={sorted(self.spark)}, "
            f"collector={sorted(self.collector)})"
        )


def uses_sasl(settings: Settings) -> bool:
    return (settings.kafka_security_protocol or "PLAINTEXT").startswith("SASL_")


def uses_tls(settings: Settings) -> bool:
    return settings.kafka_security_protocol in ("SSL", "SASL_SSL")


def check(settings: Settings) -> None:
    """The security settings fit together; else BadInput naming the variables."""
    protocol = settings.kafka_security_protocol or "PLAINTEXT"
    if uses_sasl(settings):
        missing = [
            name
            for name, value in (
                ("OTELLAKE_KAFKA_SASL_MECHANISM", settings.kafka_sasl_mechanism),
                ("OTELLAKE_KAFKA_USERNAME", settings.kafka_username),
                ("OTELLAKE_KAFKA_PASSWORD", settings.kafka_password),
            )
            if not value
        ]
        if missing:
            raise BadInput(
                f"OTELLAKE_KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)} "
                "(mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, a user and its password)"
            )
    elif settings.kafka_sasl_mechanism or settings.kafka_username or settings.kafka_password:
        raise BadInput(
            f"OTELLAKE_KAFKA_SASL_MECHANISM / _USERNAME / _PASSWORD are set but "
            f"OTELLAKE_KAFKA_SECURITY_PROTOCOL is {protocol}; expected SASL_PLAINTEXT or SASL_SSL"
        )
    if settings.kafka_ca_file is not None:
        if not uses_tls(settings):
            raise BadInput(
                f"OTELLAKE_KAFKA_CA_FILE is set but OTELLAKE_KAFKA_SECURITY_PROTOCOL is "
                f"{protocol}; expected SSL or SASL_SSL"
            )
        if not settings.kafka_ca_file.is_file():
            raise BadInput(
                f"OTELLAKE_KAFKA_CA_FILE={settings.kafka_ca_file} is not a file; "
                "expected a PEM bundle of the CA certificates that signed the brokers'"
            )


def jaas_config(settings: Settings) -> str:
    """The client JAAS line for the settings' mechanism, user and password."""
    assert settings.kafka_sasl_mechanism and settings.kafka_username and settings.kafka_password
    return login_line(
        settings.kafka_sasl_mechanism,
        settings.kafka_username,
        settings.kafka_password.get_secret_value(),
    )


def login_line(mechanism: str, username: str, password: str, **extra: str) -> str:
    """``<LoginModule> required username="..." password="..." [k="v" ...];``"""
    module = _LOGIN_MODULES[mechanism]
    pairs = {"username": username, "password": password, **extra}
    for key, value in pairs.items():
        if '"' in value or "\\" in value:
            raise BadInput(f"Kafka SASL {key} may not contain '\"' or '\\' (JAAS quoting)")
    return f"{module} required " + " ".join(f'{k}="{v}"' for k, v in pairs.items()) + ";"


def client_options(settings: Settings) -> KafkaClientOptions:
    """Every client's security options, from the one settings object."""
    check(settings)
    protocol = settings.kafka_security_protocol
    if protocol is None or protocol == "PLAINTEXT":
        return KafkaClientOptions()
    python: dict[str, Any] = {"security_protocol": protocol}
    spark: dict[str, str] = {"kafka.security.protocol": protocol}
    collector: dict[str, Any] = {}
    env: dict[str, str] = {}
    if uses_sasl(settings):
        assert settings.kafka_password is not None and settings.kafka_sasl_mechanism
        password = settings.kafka_password.get_secret_value()
        python |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_username,
            "sasl_plain_password": password,
        }
        spark |= {
            "kafka.sasl.mechanism": settings.kafka_sasl_mechanism,
            "kafka.sasl.jaas.config": jaas_config(settings),
        }
        collector["auth"] = {
            "sasl": {
                "mechanism": settings.kafka_sasl_mechanism,
                "username": settings.kafka_username,
                "password": f"${{env:{PASSWORD_ENV}}}",
            }
        }
        env[PASSWORD_ENV] = password
    if uses_tls(settings):
        # the Collector: a `tls` block (even empty) turns TLS on, system CAs by default
        collector["tls"] = {}
        if settings.kafka_ca_file is not None:
            ca = str(settings.kafka_ca_file)
            python["ssl_cafile"] = ca
            spark |= {
                "kafka.ssl.truststore.type": "PEM",
                "kafka.ssl.truststore.location": ca,
            }
            collector["tls"] = {"ca_file": ca}
    return KafkaClientOptions(python, spark, collector, env)
