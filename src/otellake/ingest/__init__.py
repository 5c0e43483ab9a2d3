"""Streaming ingest: Kafka topics -> JVM decode -> Delta tables, exactly once per batch.

The parts, in the order data flows: ``source`` (the Kafka stream, the span-key dedup),
``batch`` (one batch -> every table of its signal), ``appends`` (exactly-once appends),
``supervisor`` (the queries, restarts and stopping; ``run_ingest`` is the entry point),
``failures`` (why a query stopped, in our words), ``admission`` (batch size), ``progress``.
"""

from otellake.ingest.failures import (
    CheckpointFromOlderDedup,
    CheckpointWithoutDedupState,
    DataLossError,
)
from otellake.ingest.source import IngestOptions, selected_signals
from otellake.ingest.supervisor import run_ingest

__all__ = [
    "CheckpointFromOlderDedup",
    "CheckpointWithoutDedupState",
    "DataLossError",
    "IngestOptions",
    "run_ingest",
    "selected_signals",
]
