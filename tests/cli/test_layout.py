"""The command layer stays in one place: typer and rich only under src/otellake/cli/, and
loading the command line loads neither Spark nor the rest of the heavy stack."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "otellake"
CLI = PACKAGE / "cli"
UI_IMPORT = re.compile(r"^\s*(?:import|from)\s+(typer|rich)\b", re.M)
HEAVY = ("pyspark", "delta", "pandas", "duckdb", "sklearn", "matplotlib", "otellake.ingest")


def test_typer_and_rich_are_imported_only_by_the_cli_package() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}: {match.group(0).strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if CLI not in path.parents
        for match in UI_IMPORT.finditer(path.read_text())
    ]
    assert offenders == [], "move the command code into otellake/cli/"


def test_loading_the_command_line_starts_nothing_heavy() -> None:
    script = (
        f"import sys, otellake.cli\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip() == "", f"imported at load: {proc.stdout.strip()}"
