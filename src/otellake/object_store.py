"""The lake on S3-compatible object storage: one set of endpoint settings for Spark (``s3a://``,
hadoop-aws) and delta-rs (``s3://``, the DuckDB engine's reader), and errors that name the
endpoint instead of a stack trace or a hang.

Credentials come only from the environment: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``
and, for temporary credentials, ``AWS_SESSION_TOKEN``. Spark reads them with the AWS SDK's
environment-variable provider; delta-rs gets them from here. Neither logs them, and nothing
here puts them in a message or in Spark's configuration.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from otellake.errors import OtelLakeError
from otellake.settings import Settings

if TYPE_CHECKING:
    from deltalake import DeltaTable
    from pyspark.sql import SparkSession

S3_SCHEMES = ("s3a", "s3")
KEY_ID_ENV, SECRET_ENV, TOKEN_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
# The AWS SDK v2 provider that reads exactly the variables above (hadoop-aws 3.4+ takes SDK v2
# provider classes in fs.s3a.aws.credentials.provider).
ENV_CREDENTIALS_PROVIDER = (
    "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
)


# The reachability probe gives up after one try and a few seconds; ingest itself keeps S3A's
# patient defaults (retries with backoff over minutes) for blips of a running job.
PROBE_CONF = {
    "fs.s3a.attempts.maximum": "1",
    "fs.s3a.retry.limit": "1",
    "fs.s3a.retry.interval": "200ms",
    "fs.s3a.connection.establish.timeout": "5s",
    "fs.s3a.connection.timeout": "20s",
}


class ObjectStoreError(OtelLakeError):
    """The lake's object store is unreachable, refuses the credentials, or has none to use."""


def is_s3(path: str) -> bool:
    """True for ``s3a://bucket/...`` and ``s3://bucket/...``."""
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.lower() in S3_SCHEMES


def describe_endpoint(settings: Settings) -> str:
    """The endpoint as messages name it (never a credential)."""
    where = settings.s3_endpoint or "AWS S3 (no OTELLAKE_S3_ENDPOINT set)"
    return f"S3 endpoint {where}, region {settings.s3_region}"


def hadoop_conf(settings: Settings) -> dict[str, str]:
    """``fs.s3a.*`` settings for Spark's Hadoop configuration (no credentials: S3A reads the
    environment itself)."""
    conf = {
        "fs.s3a.aws.credentials.provider": ENV_CREDENTIALS_PROVIDER,
        "fs.s3a.endpoint.region": settings.s3_region,
        "fs.s3a.path.style.access": str(settings.s3_path_style).lower(),
        # The optimized copyFromLocalFile (how streaming state stores upload their RocksDB
        # files) uploads with the SDK's async Netty client, which on pyspark's Netty 4.2 takes
        # the server's "100 Continue" for the answer (S3Exception, status 100) and S3A retries
        # it for minutes; the plain path writes through the sync client like every other file.
        "fs.s3a.optimized.copy.from.local.enabled": "false",
    }
    if settings.s3_endpoint:
        conf["fs.s3a.endpoint"] = settings.s3_endpoint
        conf["fs.s3a.connection.ssl.enabled"] = str(
            settings.s3_endpoint.startswith("https://")
        ).lower()
    return conf


def needs_s3(settings: Settings) -> bool:
    """Whether Spark sessions need S3A configured: the lake is on S3, or an endpoint is set."""
    return is_s3(settings.lake) or settings.s3_endpoint is not None


def configure_session(spark: SparkSession, settings: Settings) -> None:
    """Apply :func:`hadoop_conf` to a running session (one built before ``settings`` were
    known, e.g. a notebook's or a test session's). File systems opened from now on use it."""
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in hadoop_conf(settings).items():
        hadoop.set(key, value)


def require_credentials(settings: Settings, path: str) -> dict[str, str]:
    """The credentials in the environment, as delta-rs storage options; fails naming what is
    missing (not its value) and the endpoint."""
    missing = [name for name in (KEY_ID_ENV, SECRET_ENV) if not os.environ.get(name)]
    if missing:
        raise ObjectStoreError(
            f"no S3 credentials for {path} on {describe_endpoint(settings)}: "
            f"{' and '.join(missing)} not set; otel-lake takes S3 credentials only from the "
            f"environment ({KEY_ID_ENV}, {SECRET_ENV}, optionally {TOKEN_ENV})"
        )
    creds = {KEY_ID_ENV: os.environ[KEY_ID_ENV], SECRET_ENV: os.environ[SECRET_ENV]}
    if os.environ.get(TOKEN_ENV):
        creds[TOKEN_ENV] = os.environ[TOKEN_ENV]
    return creds


def delta_rs_location(settings: Settings, path: str) -> tuple[str, dict[str, str] | None]:
    """``(uri, storage_options)`` for delta-rs: ``s3a://`` becomes ``s3://`` and the options
    carry the same endpoint, region and addressing style as Spark's; local paths unchanged."""
    if not is_s3(path):
        return path, None
    uri = "s3://" + path.partition("://")[2]
    options = {
        "AWS_REGION": settings.s3_region,
        # object_store: path style unless virtual-hosted requests are asked for
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": str(not settings.s3_path_style).lower(),
        # explicit credentials and region: delta-rs never asks an instance metadata service
        "AWS_EC2_METADATA_DISABLED": "true",
        **require_credentials(settings, path),
    }
    if settings.s3_endpoint:
        options["AWS_ENDPOINT_URL"] = settings.s3_endpoint
        options["AWS_ALLOW_HTTP"] = str(settings.s3_endpoint.startswith("http://")).lower()
    return uri, options


def open_delta_table(settings: Settings, path: str) -> DeltaTable:
    """delta-rs's view of the table at ``path`` (a lake path as Spark writes it).

    A missing table raises deltalake's ``TableNotFoundError`` as usual; on S3, any other
    failure (endpoint down, credentials refused) raises :class:`ObjectStoreError` naming the
    endpoint.
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError, TableNotFoundError

    uri, options = delta_rs_location(settings, path)
    if options is None:
        return DeltaTable(uri)
    try:
        return DeltaTable(uri, storage_options=options)
    except TableNotFoundError:
        raise
    except (OSError, DeltaError) as exc:
        raise ObjectStoreError(
            f"cannot read {path} on {describe_endpoint(settings)}: {_s3_reason(str(exc))}"
        ) from None


def is_delta_table(settings: Settings, path: str) -> bool:
    from deltalake import DeltaTable

    uri, options = delta_rs_location(settings, path)
    return bool(DeltaTable.is_deltatable(uri, storage_options=options))


def _s3_reason(text: str) -> str:
    """The useful part of an object-store error: the S3 error code when there is one."""
    for code in (
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "NoSuchBucket",
        "ExpiredToken",
    ):
        if code in text:
            return f"{code} (check {KEY_ID_ENV}/{SECRET_ENV} and the bucket)"
    if any(s in text for s in ("error sending request", "Connection refused", "ConnectException")):
        return "no answer (is the endpoint up, and OTELLAKE_S3_ENDPOINT right?)"
    lines = text.strip().splitlines()
    return lines[0] if lines else "unknown error"


def check_lake_reachable(spark: SparkSession, settings: Settings) -> None:
    """For an S3 lake: fail now, naming the endpoint, when Spark cannot list the lake root
    (credentials missing or refused, endpoint down, S3A jars absent) - rather than deep inside
    a streaming query."""
    if not is_s3(settings.lake):
        return
    require_credentials(settings, settings.lake)
    from py4j.protocol import Py4JJavaError

    jvm = spark.sparkContext._jvm
    assert jvm is not None
    conf = jvm.org.apache.hadoop.conf.Configuration(spark.sparkContext._jsc.hadoopConfiguration())
    for key, value in PROBE_CONF.items():
        conf.set(key, value)
    path = jvm.org.apache.hadoop.fs.Path(settings.lake)
    try:
        # a file system of its own (not the cached one), so its few retries stay with the probe
        fs = jvm.org.apache.hadoop.fs.FileSystem.newInstance(path.toUri(), conf)
        try:
            fs.exists(path)
        finally:
            fs.close()
    except Py4JJavaError as exc:  # the JVM's S3A exception
        raise ObjectStoreError(
            f"cannot reach the lake {settings.lake} on {describe_endpoint(settings)}: "
            f"{_java_reason(exc)}"
        ) from None


def _java_reason(exc: Any) -> str:
    java = getattr(exc, "java_exception", None)
    causes: list[str] = []
    while java is not None and len(causes) < 10:  # the S3 error code sits in a cause
        causes.append(str(java.toString()))
        java = java.getCause()
    text = "\n".join(causes) or str(exc)
    if "S3AFileSystem not found" in text:
        return "the S3A jars are not on Spark's classpath (run `make setup`: jvm/s3/pom.xml)"
    return _s3_reason(text)
