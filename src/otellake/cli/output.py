"""The one place the command line writes: data on stdout, everything else on stderr.

A command's answer (rows as a table, JSON or CSV; the paths it wrote) goes to stdout, so
`otellake analyze ... --format json | jq` and `> rows.csv` see nothing but the data. Progress,
notes and errors go to stderr, where a person still sees them and a pipe does not. The
`--format` option and its check are defined here once, for every command that has one.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from otellake.errors import BadInput

Format = Literal["table", "json", "csv"]
TABLE_OR_JSON: tuple[Format, ...] = ("table", "json")
EVERY_FORMAT: tuple[Format, ...] = ("table", "json", "csv")

# The `--format` option of a command without CSV, and of one with it (rows are a flat list).
TableOrJsonOption = Annotated[str, typer.Option("--format", help="table or json")]
EveryFormatOption = Annotated[str, typer.Option("--format", help="table, json or csv")]

# Console() and Console(stderr=True) look up sys.stdout / sys.stderr when they print, so a test
# capturing either (CliRunner, capsys) sees what a terminal would.
_stdout = Console()
_stderr = Console(stderr=True)


def check_format(value: str, allowed: Sequence[Format]) -> Format:
    """``value`` as a Format, or BadInput (exit 2) naming it and what the command accepts."""
    if value not in allowed:
        raise BadInput(f"unknown format {value!r}; expected {_one_of(allowed)}")
    return value  # type: ignore[return-value]


def _one_of(choices: Sequence[str]) -> str:
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


# ---- stdout: the data -------------------------------------------------------------------------


def render(
    fmt: Format,
    doc: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    show_table: Callable[[], None],
) -> None:
    """The answer in ``fmt``: ``doc`` as one JSON object, ``rows`` as CSV, or the command's
    own table (``show_table``), since each command lays out its table for people itself."""
    if fmt == "json":
        json_doc(doc)
    elif fmt == "csv":
        csv_rows(rows)
    else:
        show_table()


def json_doc(doc: Mapping[str, Any]) -> None:
    """One JSON object on one line (dates and paths as strings)."""
    print(json.dumps(doc, default=str))


def csv_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """A header from the first row's keys, then one line per row; nothing for no rows."""
    writer = csv.writer(sys.stdout)
    if rows:
        writer.writerow(rows[0].keys())
        writer.writerows(r.values() for r in rows)


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    """A table for people; cells are text and may carry rich markup (e.g. a state's colour)."""
    grid = Table(*columns, title=title)
    for row in rows:
        grid.add_row(*row)
    _stdout.print(grid)


def say(text: str) -> None:
    """A line of the answer for people: an empty result said plainly, a path written."""
    _stdout.print(text, highlight=False)


def raw(text: str) -> None:
    """Text another program reads as is (never wrapped to the terminal's width)."""
    print(text)


# ---- stderr: progress, notes, errors ----------------------------------------------------------


def progress(message: str) -> None:
    """What a long command is doing now."""
    _stderr.print(f"[dim]·[/dim] {message}", highlight=False)


def note(message: str) -> None:
    """A side effect or caveat worth knowing that is not the answer (rows saved, skipped)."""
    _stderr.print(message, highlight=False)


def error(message: str) -> None:
    _stderr.print(f"error: {message}", style="red", highlight=False)


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A bar on stderr (gone when done) for ``total`` items; yields ``update(done)``, which
    also shows the rate so far."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_stderr,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total, rate="")

        def update(done: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:,.0f}/s" if elapsed > 0 else ""
            bar.update(task, completed=done, rate=rate)

        yield update
