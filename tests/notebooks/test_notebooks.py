"""Every analyst notebook runs top to bottom on the shop history (DuckDB, and its Spark cell),
draws its charts, and is committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from otellake.analytics.window import iso_z
from tests.shop_history import ShopHistory

# the charts each notebook draws (at least; a window without slow requests draws fewer)
CHARTS = {"01_error_triage": 3, "02_latency_deep_dive": 3, "03_trace_explorer": 1}
NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def execute(path: Path, parameters: dict[str, Any], workdir: Path) -> Any:
    """Run the notebook with ``parameters`` appended to its parameters cell; a cell error
    raises (nbclient's CellExecutionError names the cell and the traceback)."""
    book = nbformat.read(path, as_version=4)
    cell = next(c for c in book.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTELLAKE_")}
    env["OTELLAKE_HOME"] = str(workdir / "home")  # Spark's scratch space, not the checkout's var/
    client = NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=env)
    return book


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
    path: Path, history: ShopHistory, tmp_path: Path
) -> None:
    parameters = {
        "LAKE": history.settings.lake,
        "START": iso_z(history.start),
        "END": iso_z(history.end),
    }
    book = execute(path, parameters, tmp_path)
    text = "".join(o.get("text", "") for o in outputs(book, "stream") if o.get("name") == "stdout")
    assert f"lake: {history.settings.lake}" in text
    assert len(outputs(book, "image/png")) >= CHARTS[path.stem], "charts drawn"
    assert "agrees" in text or "the same" in text  # the Spark cell's check passed
    assert not outputs(book, "error")
