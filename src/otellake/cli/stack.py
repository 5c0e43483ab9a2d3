"""`otellake setup`, `up`, `down`, `status`: the local broker and Collector (and what `status`
knows of the Spark cluster and the ingest queries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from otellake.cli import output
from otellake.settings import load_settings

if TYPE_CHECKING:
    from otellake.stack.lifecycle import ServiceStatus

STATE_COLOURS = {"ready": "green", "starting": "yellow", "stopped": "red"}
BATCH_COLUMNS = {  # column -> key of ingest.progress.last_batches()
    "query": "query",
    "last batch": "batch_id",
    "at": "timestamp",
    "records": "records",
    "rows": "rows",
    "quarantined": "quarantined",
    "seconds": "duration_s",
    "kafka lag": "kafka_lag",
    "behind (s)": "behind_s",
}


def setup() -> None:
    """Resolve Spark's connector jars and the broker's jars, build the Collector (cached)."""
    from otellake import provision

    for what, path in provision.setup_all(load_settings(), output.progress).items():
        output.say(f"{what}: {path}")


def up() -> None:
    """Start the Kafka broker, create the topics, start the Collector; wait until ready."""
    from otellake.stack import lifecycle

    show_services(lifecycle.up(load_settings(), output.progress))


def down() -> None:
    """Stop the Collector and the broker that `up` started (exactly those pids)."""
    from otellake.stack import lifecycle

    lifecycle.down(load_settings(), output.progress)


def status(fmt: output.TableOrJsonOption = "table") -> None:
    """Show each local service: ready / starting / stopped, pid, ports, log file."""
    checked = output.check_format(fmt, output.TABLE_OR_JSON)
    from otellake.ingest.progress import last_batches
    from otellake.stack import lifecycle, spark_cluster

    settings = load_settings()
    states = lifecycle.status(settings) + spark_cluster.status(settings)
    batches = last_batches(settings)
    doc = {"services": [s.__dict__ for s in states], "queries": batches}

    def show() -> None:
        show_services(states)
        if batches:
            rows = [[str(b[key]) for key in BATCH_COLUMNS.values()] for b in batches]
            output.table(list(BATCH_COLUMNS), rows)

    output.render(checked, doc, [], show)


def show_services(states: Sequence[ServiceStatus]) -> None:
    """One row per service, its state in colour (also what `up` and `cluster up` print)."""
    rows = []
    for s in states:
        colour = STATE_COLOURS[s.state]
        ports = " ".join(f"{k}={v}" for k, v in s.ports.items())
        rows.append([s.name, f"[{colour}]{s.state}[/{colour}]", str(s.pid or "-"), ports, s.log])
    output.table(["service", "state", "pid", "ports", "log"], rows)
