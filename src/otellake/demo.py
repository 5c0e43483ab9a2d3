"""`make demo`: the pipeline end to end on local defaults, as far as it exists today.

Stack up -> OTel SDK sends a span, a log and a metric to the Collector -> the Collector's
kafka exporter writes export requests -> we read them back from the three topics and decode
them -> stack down.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from otellake import topic_peek
from otellake.settings import Settings
from otellake.stack import lifecycle
from otellake.telemetry_probe import send_probe


def run_demo(
    settings: Settings, console: Console, progress: Callable[[str], None], keep_up: bool = False
) -> None:
    lifecycle.up(settings, progress)
    try:
        starts = {sig: topic_peek.end_offsets(settings, t) for sig, t in settings.topics.items()}
        probe = send_probe(settings, service_name="otellake-demo")
        progress(f"sent span {probe.span_name!r} (trace {probe.trace_id}), "
                 f"log {probe.log_body!r}, metric {probe.metric_name!r}")
        expected = {"traces": probe.span_name, "logs": probe.log_body,
                    "metrics": probe.metric_name}
        table = Table("topic", "records", "items", "services", "found")
        for signal, topic in settings.topics.items():
            def seen(values: list[bytes], signal: str = signal) -> bool:
                return any(
                    expected[signal] in topic_peek.summarize(  # type: ignore[operator]
                        signal, topic_peek.decode(signal, v))["names"]  # type: ignore[arg-type]
                    for v in values
                )

            values = topic_peek.read_until(settings, topic, starts[signal], seen, timeout_s=60)
            summaries = [topic_peek.summarize(signal, topic_peek.decode(signal, v))  # type: ignore[arg-type]
                         for v in values]
            items = sum(int(s["items"]) for s in summaries)  # type: ignore[call-overload]
            services = sorted({x for s in summaries for x in s["services"]})  # type: ignore[attr-defined]
            found = seen(values)
            table.add_row(topic, str(len(values)), str(items), ",".join(services),
                          "[green]yes[/green]" if found else "[red]no[/red]")
        console.print(table)
    finally:
        if not keep_up:
            lifecycle.down(settings, progress)
