"""Everything `make setup` installs besides Python packages, cached outside the repository.

* Spark's JVM connectors (Kafka source, Delta) from ``jvm/spark/pom.xml`` via Maven, minus the
  jars pyspark already ships (duplicates of Hadoop, Jackson or Scala break the classpath).
* S3A (hadoop-aws + the AWS SDK's s3 modules, 13 MB) from ``jvm/s3/pom.xml``, the same way.
* The Kafka broker's jars from ``jvm/kafka/pom.xml`` (kept apart from Spark's classpath).
* The OpenTelemetry Collector, built with the Collector Builder (OCB) from
  ``otel-collector/builder-config.yaml`` out of Go modules.

Each lands in ``$OTELLAKE_CACHE/<kind>/<name>-<hash of its manifest>/`` and is marked complete
only after it fully succeeded, so a rerun is a cheap existence check and an interrupted run
starts over cleanly.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from otellake.errors import SetupError
from otellake.settings import Settings, find_project_root

_COMPLETE = ".complete"
# Jars of these families always come from pyspark itself, whatever version Maven picked.
_ALWAYS_FROM_PYSPARK = ("jackson-", "scala-", "slf4j-", "log4j-", "hadoop-client-")

Progress = Callable[[str], None]


def project_file(relative: str) -> Path:
    root = find_project_root()
    if root is None:
        raise SetupError(
            f"cannot find {relative}: otellake is not running from a checkout; "
            "run it from the cloned repository (make setup installs it editable)"
        )
    return root / relative


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _run(
    cmd: list[str], what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        raise SetupError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def _require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SetupError(f"`{name}` is not on PATH; {hint}")
    return path


def pyspark_jars_dir() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def _artifact_name(jar: str) -> str:
    """``kafka-clients-3.9.2.jar`` -> ``kafka-clients``."""
    return re.sub(r"-\d+(\.\d+)+([-.]\w+)*\.jar$", "", jar)


def spark_jars_dir(settings: Settings) -> Path:
    pom = project_file("jvm/spark/pom.xml")
    return settings.cache / "jars" / f"spark-{_digest(pom)}"


def kafka_jars_dir(settings: Settings) -> Path:
    pom = project_file("jvm/kafka/pom.xml")
    return (
        settings.cache
        / "jars"
        / f"kafka-{_digest(pom, project_file('jvm/kafka/log4j2.properties'))}"
    )


def _maven(settings: Settings, pom: Path, what: str, *goals: str) -> None:
    """Run Maven on ``pom`` with the project's local repository in the cache."""
    mvn = _require_tool("mvn", "install Maven (Debian package `maven`)")
    _run(
        [mvn, "-q", "-B", f"-Dmaven.repo.local={settings.cache / 'm2'}", "-f", str(pom), *goals],
        what,
    )


def _maven_copy(settings: Settings, pom: Path, out: Path) -> None:
    _maven(
        settings,
        pom,
        f"resolving {pom.parent.name} jars with Maven",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={out}",
    )


def _finish(tmp: Path, final: Path) -> Path:
    (tmp / _COMPLETE).write_text("ok\n")
    if final.exists():
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(final)
    return final


def is_complete(path: Path) -> bool:
    return (path / _COMPLETE).is_file()


def ensure_spark_jars(settings: Settings, progress: Progress = print) -> Path:
    """Connector jars for Spark, without anything pyspark ships already."""
    return _ensure_spark_classpath(
        settings, "jvm/spark/pom.xml", spark_jars_dir(settings), progress
    )


def s3_jars_dir(settings: Settings) -> Path:
    pom = project_file("jvm/s3/pom.xml")
    return settings.cache / "jars" / f"s3-{_digest(pom)}"


def ensure_s3_jars(settings: Settings, progress: Progress = print) -> Path:
    """hadoop-aws and the AWS SDK modules S3A needs (``s3a://`` lakes), minus pyspark's jars."""
    return _ensure_spark_classpath(settings, "jvm/s3/pom.xml", s3_jars_dir(settings), progress)


def _ensure_spark_classpath(settings: Settings, pom: str, final: Path, progress: Progress) -> Path:
    if is_complete(final):
        return final
    progress(f"resolving the jars of {pom} into {final}")
    settings.cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{final.name}-", dir=settings.cache))
    _maven_copy(settings, project_file(pom), tmp)
    shipped = {_artifact_name(j.name) for j in pyspark_jars_dir().glob("*.jar")}
    for jar in tmp.glob("*.jar"):
        name = _artifact_name(jar.name)
        if name in shipped or name.startswith(_ALWAYS_FROM_PYSPARK):
            jar.unlink()
    return _finish(tmp, final)


def ensure_kafka_jars(settings: Settings, progress: Progress = print) -> Path:
    """The broker's classpath plus its log4j2 configuration."""
    final = kafka_jars_dir(settings)
    if is_complete(final):
        return final
    progress(f"resolving Kafka broker jars into {final}")
    settings.cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="kafka-jars-", dir=settings.cache))
    _maven_copy(settings, project_file("jvm/kafka/pom.xml"), tmp / "lib")
    shutil.copy(project_file("jvm/kafka/log4j2.properties"), tmp / "log4j2.properties")
    return _finish(tmp, final)


def _decoder_sources() -> list[Path]:
    module = project_file("jvm/otlp-decoder")
    return sorted(p for p in module.rglob("*") if p.is_file() and "target" not in p.parts)


def decoder_jar_dir(settings: Settings) -> Path:
    return settings.cache / "jars" / f"otlp-decoder-{_digest(*_decoder_sources())}"


def ensure_decoder_jar(settings: Settings, progress: Progress = print) -> Path:
    """Build our JVM OTLP decoder (``jvm/otlp-decoder``, protobuf shaded inside)."""
    final = decoder_jar_dir(settings)
    if is_complete(final):
        return final / "otlp-decoder.jar"
    progress(f"building the OTLP decoder jar into {final}")
    pom = project_file("jvm/otlp-decoder/pom.xml")
    _maven(settings, pom, "building jvm/otlp-decoder with Maven", "package", "-DskipTests")
    settings.cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="otlp-decoder-", dir=settings.cache))
    shutil.copy(pom.parent / "target" / "otlp-decoder.jar", tmp / "otlp-decoder.jar")
    return _finish(tmp, final) / "otlp-decoder.jar"


def spark_jars(settings: Settings) -> list[Path]:
    """The jars to put on ``spark.jars``; fails clearly when setup has not run."""
    folder = spark_jars_dir(settings)
    if not is_complete(folder):
        raise SetupError(f"Spark connector jars missing in {folder}; run `make setup` first")
    decoder = decoder_jar_dir(settings)
    if not is_complete(decoder):
        raise SetupError(f"OTLP decoder jar missing in {decoder}; run `make setup` first")
    s3 = s3_jars_dir(settings)
    # S3 (s3a://) jars join only when setup fetched them; an s3a:// lake without them fails
    # in spark_session with a message that says so.
    extra = sorted(s3.glob("*.jar")) if is_complete(s3) else []
    return [*sorted(folder.glob("*.jar")), decoder / "otlp-decoder.jar", *extra]


def require_s3_jars(settings: Settings) -> Path:
    """The S3A jars an ``s3a://`` lake needs; fails clearly when setup has not fetched them."""
    folder = s3_jars_dir(settings)
    if not is_complete(folder):
        raise SetupError(
            f"the lake {settings.lake} is on S3 but the S3A jars are missing in {folder}; "
            "run `make setup` (it resolves jvm/s3/pom.xml)"
        )
    return folder


def kafka_jars(settings: Settings) -> Path:
    folder = kafka_jars_dir(settings)
    if not is_complete(folder):
        raise SetupError(f"Kafka broker jars missing in {folder}; run `make setup` first")
    return folder


# ---- the Collector -----------------------------------------------------------------------


def _manifest() -> tuple[Path, dict[str, object]]:
    path = project_file("otel-collector/builder-config.yaml")
    return path, yaml.safe_load(path.read_text())


def collector_dir(settings: Settings) -> Path:
    path, _ = _manifest()
    return settings.cache / "collector" / f"otelcol-{_digest(path)}"


def builder_version() -> str:
    """OCB's version is the core version of the manifest's otlp receiver."""
    _, manifest = _manifest()
    receivers: list[dict[str, str]] = manifest.get("receivers", [])  # type: ignore[assignment]
    for entry in receivers:
        module, _, version = str(entry["gomod"]).partition(" ")
        if module.endswith("/otlpreceiver"):
            return version
    raise SetupError("otel-collector/builder-config.yaml has no otlpreceiver entry")


def _go_env(settings: Settings) -> dict[str, str]:
    go_root = settings.cache / "go"
    return {
        **os.environ,
        "GOPATH": str(go_root),
        "GOMODCACHE": str(go_root / "mod"),
        "GOCACHE": str(go_root / "build"),
        "GOFLAGS": "-modcacherw",
    }


def ensure_collector(settings: Settings, progress: Progress = print) -> Path:
    """Build the Collector with OCB (cached by manifest hash); returns the binary."""
    final = collector_dir(settings)
    binary_name = "otelcol-otellake"
    if is_complete(final):
        return final / binary_name
    go = _require_tool("go", "install Go (the Go toolchain from go.dev or Debian `golang`)")
    env = _go_env(settings)
    version = builder_version()
    bin_dir = settings.cache / "go" / f"ocb-{version}"
    builder = bin_dir / "builder"
    if not builder.is_file():
        progress(f"installing the Collector Builder {version}")
        _run(
            [go, "install", f"go.opentelemetry.io/collector/cmd/builder@{version}"],
            "installing OCB",
            env={**env, "GOBIN": str(bin_dir)},
        )
    progress(f"building the Collector into {final} (a few minutes on a cold cache)")
    settings.cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="collector-", dir=settings.cache))
    _, manifest = _manifest()
    manifest["dist"]["output_path"] = str(tmp / "build")  # type: ignore[index]
    manifest["dist"]["name"] = binary_name  # type: ignore[index]
    config = tmp / "builder-config.yaml"
    config.write_text(yaml.safe_dump(manifest, sort_keys=False))
    _run([str(builder), f"--config={config}"], "building the Collector with OCB", cwd=tmp, env=env)
    shutil.move(str(tmp / "build" / binary_name), tmp / binary_name)
    shutil.rmtree(tmp / "build")
    return _finish(tmp, final) / binary_name


def collector_binary(settings: Settings) -> Path:
    folder = collector_dir(settings)
    if not is_complete(folder):
        raise SetupError(f"Collector binary missing in {folder}; run `make setup` first")
    return folder / "otelcol-otellake"


def ensure_chromium(progress: Progress = print) -> Path:
    """Debian's ``chromium`` (the report's headless render test): apt-get installs it once;
    when it is on PATH this is only a lookup. Needs root, or sudo without a password."""
    found = shutil.which("chromium")
    if found is not None:
        return Path(found)
    apt = _require_tool("apt-get", "install Chromium with your package manager (Debian: chromium)")
    prefix = [] if os.geteuid() == 0 else [_require_tool("sudo", "run `make setup` as root"), "-n"]
    progress("installing Debian's chromium with apt-get (once, ~400 MB)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, apt, "install", "-y", "--no-install-recommends", "chromium"]
    try:
        _run(install, "apt-get install chromium", env=env)
    except SetupError:  # no package lists yet: fetch them once, then retry
        _run([*prefix, apt, "update"], "apt-get update", env=env)
        _run(install, "apt-get install chromium", env=env)
    return Path(_require_tool("chromium", "apt-get installed chromium but it is not on PATH"))


def setup_all(settings: Settings, progress: Progress = print) -> dict[str, Path]:
    """What `make setup` runs after the Python environment exists."""
    return {
        "spark_jars": ensure_spark_jars(settings, progress),
        "s3_jars": ensure_s3_jars(settings, progress),
        "otlp_decoder": ensure_decoder_jar(settings, progress),
        "kafka_jars": ensure_kafka_jars(settings, progress),
        "collector": ensure_collector(settings, progress),
        "chromium": ensure_chromium(progress),
    }
