"""`make demo`: the pipeline end to end on local defaults, as far as it exists today.

Stack up -> OTel SDK sends a span, a log and a metric to the Collector -> the Collector's
kafka exporter writes export requests -> we read them back from the three topics and decode
them -> stack down.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from otellake import topic_peek
from otellake.errors import ServiceNotReady
from otellake.settings import Settings, Signal
from otellake.stack import lifecycle
from otellake.telemetry_probe import send_probe


def run_demo(
    settings: Settings, console: Console, progress: Callable[[str], None], keep_up: bool = False
) -> None:
    lifecycle.up(settings, progress)
    try:
        starts = {sig: topic_peek.end_offsets(settings, t) for sig, t in settings.topics.items()}
        probe = send_probe(settings, service_name="otellake-demo")
        progress(
            f"sent span {probe.span_name!r} (trace {probe.trace_id}), "
            f"log {probe.log_body!r}, metric {probe.metric_name!r}"
        )
        expected: dict[Signal, str] = {
            "traces": probe.span_name,
            "logs": probe.log_body,
            "metrics": probe.metric_name,
        }
        table = Table("topic", "records", "items", "services", "found")
        missing: list[str] = []
        for signal, topic in settings.topics.items():
            name = expected[signal]
            values = topic_peek.read_until(
                settings,
                topic,
                starts[signal],
                functools.partial(topic_peek.contains, signal, name=name),
                timeout_s=60,
            )
            summaries = [topic_peek.summarize(signal, topic_peek.decode(signal, v)) for v in values]
            services = sorted({svc for s in summaries for svc in s.services})
            found = topic_peek.contains(signal, values, name)
            if not found:
                missing.append(topic)
            table.add_row(
                topic,
                str(len(values)),
                str(sum(s.items for s in summaries)),
                ",".join(services),
                "[green]yes[/green]" if found else "[red]no[/red]",
            )
        console.print(table)
        if missing:
            raise ServiceNotReady(
                f"telemetry did not arrive on {', '.join(missing)} within 60 s; "
                f"see the logs under {settings.home / 'logs'}"
            )
    finally:
        if not keep_up:
            lifecycle.down(settings, progress)
