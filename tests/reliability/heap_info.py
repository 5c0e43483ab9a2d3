"""The heap a JVM in another process uses, from ``jcmd <pid> GC.heap_info`` (the soak samples
its ingest driver's live heap this way, after a ``jcmd GC.run``)."""

from __future__ import annotations

import re

_GENERATION_USED = re.compile(r"total \d+K, used (\d+)K")


def heap_used_kib(heap_info: str) -> int | None:
    """The sum of the report's "total NK, used NK" lines: G1 prints one for the whole heap,
    Parallel GC (which a local otel-lake driver runs) one for the young and one for the old
    generation; Metaspace's line has no total. None when there is none (a dying JVM)."""
    used = [int(n) for n in _GENERATION_USED.findall(heap_info)]
    return sum(used) if used else None
