"""Every analyst notebook runs top to bottom on the shop history (DuckDB, and its Spark cell),
draws its charts, and is committed without outputs. The three run at once, each in its own
process and kernel (see ``execute.py``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from otellake.analytics.window import iso_z
from tests.shop_history import ShopHistory

# the charts each notebook draws (at least; a window without slow requests draws fewer)
CHARTS = {"01_error_triage": 3, "02_latency_deep_dive": 3, "03_trace_explorer": 1}
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def executed(
    history: ShopHistory, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[int, str, Path]]:
    """The three notebooks run at once against the shop history, each in its own process and
    kernel: stem -> (exit code, what it printed, the executed notebook)."""
    workdir = tmp_path_factory.mktemp("notebooks")
    parameters = json.dumps(
        {"LAKE": history.settings.lake, "START": iso_z(history.start), "END": iso_z(history.end)}
    )
    running = {}
    results = {}
    try:
        for path in NOTEBOOKS:
            out, log = workdir / path.name, workdir / f"{path.stem}.log"
            command = [sys.executable, "-m", "tests.notebooks.execute", str(path), parameters]
            with log.open("w") as sink:  # a file, not a pipe: nothing blocks on a full buffer
                proc = subprocess.Popen(
                    [*command, str(out), str(workdir / path.stem)],
                    cwd=ROOT,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its kernel and Spark JVM: one group to stop
                )
            running[path.stem] = (proc, out, log)
        deadline = time.monotonic() + 900
        for stem, (proc, out, log) in running.items():
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            results[stem] = (proc.returncode, log.read_text(), out)
    finally:
        # a notebook still running (a timeout, a failure above): its process group goes,
        # kernel and Spark JVM included, not left beside the next tests
        for proc, _out, _log in running.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=60)
    return results


def outputs(book: Any, kind: str) -> list[Any]:
    return [
        o
        for c in book.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == kind or kind in o.get("data", {})
    ]


def test_the_three_notebooks_are_committed_without_outputs() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_error_triage.ipynb",
        "02_latency_deep_dive.ipynb",
        "03_trace_explorer.ipynb",
    ]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        code = [c for c in book.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), path.name
        params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and "LAKE = None" in params[0].source, path.name
        assert sum('engine="spark"' in c.source for c in code) == 1, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_on_the_lake(
    path: Path, history: ShopHistory, executed: dict[str, tuple[int, str, Path]]
) -> None:
    code, printed, out = executed[path.stem]
    assert code == 0, printed[-8000:]  # the failing cell and its traceback
    book = nbformat.read(out, as_version=4)
    text = "".join(o.get("text", "") for o in outputs(book, "stream") if o.get("name") == "stdout")
    assert f"lake: {history.settings.lake}" in text
    assert len(outputs(book, "image/png")) >= CHARTS[path.stem], "charts drawn"
    assert "agrees" in text or "the same" in text  # the Spark cell's check passed
    assert not outputs(book, "error")
