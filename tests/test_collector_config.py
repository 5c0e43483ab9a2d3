"""The Collector config: valid for our built Collector, defaults equal to the settings'."""

import re
import subprocess
from pathlib import Path

import yaml

from otellake import provision
from otellake.settings import Settings
from otellake.stack import collector

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "otel-collector" / "config.yaml"
ENV_REF = re.compile(r"\$\{env:(OTELLAKE_[A-Z_]+):-([^}]*)\}")


def test_config_validates_with_the_built_collector() -> None:
    binary = provision.collector_binary(Settings())
    proc = subprocess.run(
        [str(binary), "validate", f"--config={CONFIG}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_env_defaults_in_config_equal_the_settings_defaults() -> None:
    defaults = Settings()
    refs = dict(ENV_REF.findall(CONFIG.read_text()))
    assert set(refs) == set(collector._values(defaults))
    for var, default in refs.items():
        field = var.removeprefix("OTELLAKE_").lower()
        assert str(getattr(defaults, field)) == default, var


def test_kafka_exporter_shape() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    kafka = config["exporters"]["kafka"]
    assert kafka["producer"]["compression"] == "zstd"
    assert kafka["producer"]["max_message_bytes"] == 1_000_000
    for signal in ("traces", "metrics", "logs"):
        assert kafka[signal]["encoding"] == "${env:OTELLAKE_ENCODING:-otlp_proto}"
        assert config["service"]["pipelines"][signal]["exporters"] == ["kafka"]
        assert config["service"]["pipelines"][signal]["processors"] == ["memory_limiter", "batch"]
    assert config["processors"]["batch"]["send_batch_max_size"] <= 1000
    assert "health_check" in config["service"]["extensions"]


def test_rendered_config_lists_every_broker(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, kafka_bootstrap="127.0.0.1:1111,127.0.0.2:2222")
    rendered = yaml.safe_load(collector.render_config(settings))
    assert rendered["exporters"]["kafka"]["brokers"] == ["127.0.0.1:1111", "127.0.0.2:2222"]
    env = collector.environment(settings)
    assert env["OTELLAKE_TOPIC_SPANS"] == "otlp_spans"
    assert env["OTELLAKE_COLLECTOR_BIND_HOST"] == "127.0.0.1"
