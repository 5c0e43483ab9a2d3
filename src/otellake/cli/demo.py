"""`otellake demo` (`make demo`): the whole pipeline end to end on local defaults (the steps
are ``otellake.demo``; this module shows what they found)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from otellake.cli import output
from otellake.settings import load_settings

FOUND = {"yes": "[green]yes[/green]", "no": "[red]no[/red]"}


class TerminalView:
    """The demo's tables and lines on stdout; whether telemetry was found, in colour."""

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        if "found" in columns:
            at = list(columns).index("found")
            rows = [[*r[:at], FOUND.get(r[at], r[at]), *r[at + 1 :]] for r in rows]
        output.table(columns, rows)

    def line(self, text: str) -> None:
        output.say(text)


def demo(
    keep_up: Annotated[bool, typer.Option(help="leave the stack running afterwards")] = False,
) -> None:
    """Bring the stack up, send telemetry through the Collector, show it in Kafka, stop."""
    from otellake.demo import run_demo

    run_demo(load_settings(), TerminalView(), output.progress, keep_up=keep_up)
