import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from otellake.cli import app
from otellake.settings import Settings, env_var_for

runner = CliRunner()


def test_help_lists_every_setting() -> None:
    result = runner.invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for name in Settings.model_fields:
        assert env_var_for(name) in result.output, name


def test_every_command_has_help() -> None:
    for command in ["setup", "up", "down", "status", "demo", "spark-conf"]:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage:" in result.output


def test_status_of_a_fresh_home_says_stopped(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["status", "--format", "json"], env={"OTELLAKE_HOME": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    services = {s["name"]: s for s in json.loads(result.output)["services"]}
    assert services["kafka"]["state"] == "stopped"
    assert services["collector"]["state"] == "stopped"
    assert services["collector"]["ports"]["otlp_grpc"] == 4317


def test_bad_setting_exits_2_and_names_it(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "otellake.cli", "status"],
        env={"PATH": "/usr/bin:/bin", "OTELLAKE_HOME": str(tmp_path), "OTELLAKE_TRIGGER": "soon"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "OTELLAKE_TRIGGER" in proc.stderr
    assert "'soon'" in proc.stderr


def test_bad_option_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--format", "xml"], env={"OTELLAKE_HOME": str(tmp_path)})
    assert result.exit_code == 2
    assert "unknown format 'xml'" in result.output


def test_data_on_stdout_progress_and_errors_on_stderr(tmp_path: Path) -> None:
    env = {"OTELLAKE_HOME": str(tmp_path)}
    status = runner.invoke(app, ["status", "--format", "json"], env=env)
    assert json.loads(status.stdout)["services"] and status.stderr == ""
    down = runner.invoke(app, ["down"], env=env)
    assert down.exit_code == 0 and down.stdout == ""
    assert "kafka was not running" in down.stderr
    bad = runner.invoke(app, ["status", "--format", "csv"], env=env)
    assert bad.exit_code == 2 and bad.stdout == ""
    assert "error: unknown format 'csv'; expected table or json" in bad.stderr
