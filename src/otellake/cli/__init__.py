"""`otellake`: the command line. Thin: parse options, load settings, call the package, print.

One module per command group (``stack``, ``cluster``, ``ingest``, ``analyze``, ``lake``,
``generate``, ``bench``, ``anomalies``, ``report``, ``demo``); ``output`` is the one place that
writes (data on stdout; progress, notes and errors on stderr) and defines ``--format``;
``exit_codes`` maps the package's errors to exit codes. typer and rich are imported nowhere
else in the package. The command modules import the package where a command runs, so loading
the command line (``--help``) starts neither Spark nor the generator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from otellake.cli import (
    analyze,
    anomalies,
    bench,
    cluster,
    demo,
    generate,
    ingest,
    lake,
    report,
    stack,
)
from otellake.cli.exit_codes import handle_errors
from otellake.settings import Settings, env_var_for

__all__ = ["app", "main"]


def _settings_help() -> str:
    lines = ["Settings (environment variables, default):\n"]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default not in (None, "", ()) else "unset"
        if name == "lake":
            default = "$OTELLAKE_HOME/lake"
        lines.append(f"  {env_var_for(name)} = {default}  -- {field.description}\n")
    return "\n".join(lines)


app = typer.Typer(
    name="otellake",
    help="otel-lake: OpenTelemetry from Kafka into a Delta lake, analytics on DuckDB and Spark.",
    epilog=_settings_help(),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
cluster_app = typer.Typer(help=cluster.HELP, no_args_is_help=True)

# (name, command) in the order `otellake --help` lists them
COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    ("setup", stack.setup),
    ("up", stack.up),
    ("down", stack.down),
    ("status", stack.status),
    ("demo", demo.demo),
    ("ingest", ingest.ingest),
    ("analyze", analyze.analyze),
    ("generate", generate.generate),
    ("bench", bench.bench),
    ("anomalies", anomalies.anomalies),
    ("report", report.report),
    ("maintain", lake.maintain),
    ("delete", lake.delete),
    ("replay-quarantine", lake.replay_quarantine),
    ("spark-conf", cluster.spark_conf),
]
CLUSTER_COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    ("up", cluster.cluster_up),
    ("down", cluster.cluster_down),
]

for _name, _command in COMMANDS:
    app.command(_name)(handle_errors(_command))
for _name, _command in CLUSTER_COMMANDS:
    cluster_app.command(_name)(handle_errors(_command))
app.add_typer(cluster_app, name="cluster")


def main() -> None:
    app()
