"""Run one notebook in its own process (so the tests can run the three at once):

    python -m tests.notebooks.execute NOTEBOOK PARAMETERS_JSON OUT_NOTEBOOK WORKDIR

Exit 0 with the executed notebook written to OUT_NOTEBOOK; 1 with nbclient's message (the
failing cell and its traceback) on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path: Path, parameters: dict[str, Any], workdir: Path) -> Any:
    """Run the notebook with ``parameters`` appended to its parameters cell; a cell error
    raises (nbclient's CellExecutionError names the cell and the traceback)."""
    book = nbformat.read(path, as_version=4)
    cell = next(c for c in book.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTELLAKE_")}
    env["OTELLAKE_HOME"] = str(workdir / "home")  # Spark's scratch space, not the checkout's var/
    # IPC sockets under the notebook's own workdir: three kernels starting at once over TCP
    # picked the same free port now and then (ZMQError: Address already in use)
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(workdir / "kernel"))
    client = NotebookClient(
        book, km=kernel, timeout=600, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=env)
    return book


def main() -> int:
    path, parameters, out, workdir = sys.argv[1:5]
    Path(workdir).mkdir(parents=True, exist_ok=True)
    try:
        book = execute(Path(path), json.loads(parameters), Path(workdir))
    except CellExecutionError as exc:
        print(exc)
        return 1
    nbformat.write(book, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
