"""`otellake bench`: every figure of the benchmark on a private stack (the measuring and the
saving are ``otellake.benchmark.run``; this module reads options and prints the table)."""

from __future__ import annotations

from typing import Annotated

import typer

from otellake.benchmark import PARTS
from otellake.cli import output


def bench(
    quick: Annotated[bool, typer.Option("--quick", help="1/10 scale, under 5 minutes")] = False,
    only: Annotated[
        str | None,
        typer.Option(help=f"comma-separated parts to run: {', '.join(PARTS)} (default all)"),
    ] = None,
) -> None:
    """Measure ingest, the alternatives, freshness, size and analytics; write JSON results."""
    from otellake.benchmark import results, run

    parts = run.parse_parts(only)
    doc = run.run_bench(quick, parts, output.progress)
    saved = run.save(doc, quick, parts)
    output.raw(results.markdown_table(doc))
    output.note(f"results: {saved}")
