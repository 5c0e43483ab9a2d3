"""The README, Makefile and CI script stay honest with the code."""

import re
import subprocess
from pathlib import Path

from otellake.settings import Settings, env_var_for

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _make_targets() -> set[str]:
    out = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"make (\S+)", out))


def test_quickstart_commands_are_real_targets() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make (\S+)", quickstart, flags=re.M)
    assert commands == ["setup", "demo", "test"]
    targets = _make_targets()
    assert set(commands) <= targets
    for mentioned in re.findall(r"`make ([a-z-]+)`", README):
        assert mentioned in targets, mentioned


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`{env_var_for(name)}`" in README, env_var_for(name)


def test_ci_runs_setup_then_test() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert script.index("make setup") < script.index("make test")


def test_required_top_level_entries_exist() -> None:
    for entry in [
        "pyproject.toml",
        "jobs",
        "schemas",
        "otel-collector",
        "notebooks",
        "tests",
        "docker-compose.yml",
        "Makefile",
        "README.md",
        ".ci/run",
        "uv.lock",
    ]:
        assert (ROOT / entry).exists(), entry
