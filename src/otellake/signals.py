"""Each OTLP signal, defined once: its Kafka topic, the record it carries, its decoder and
where its items land.

Ingest and replay (``ingest.pipelines``), ``jvm_decoders``, ``topic_peek`` and the generator
read these definitions; the tables a signal writes are the schema files that name it
(``schemas/tables/*.json``, ``"signal"``), so a new metric type is a schema file and a
decoder array, not an edit here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from otellake import schemas
from otellake.settings import Settings, Signal

if TYPE_CHECKING:
    from google.protobuf.message import Message

# Duplicates dropped in the stream, before decoding: "span_keys" by each span's (trace_id,
# span_id, start_time_unix_nano) seen within OTELLAKE_DEDUP_WINDOW (``transform.dedup``);
# "none": not in the stream. (Backfill and replay merge on each table's dedup key either way.)
StreamDedup = Literal["span_keys", "none"]


@dataclass(frozen=True)
class SignalDef:
    name: Signal
    # the Settings field naming its Kafka topic (OTELLAKE_TOPIC_*)
    topic_setting: str
    # the JVM decoder (jvm/otlp-decoder) and the SQL function it is registered as
    decoder_class: str
    sql_function: str
    # the OTLP export request one Kafka record holds (opentelemetry-proto), and the path from
    # it to the items: request.<resource_field>[].<scope_field>[].<item_field>[]
    request_class: str
    resource_field: str
    scope_field: str
    item_field: str
    # what names an item when a record is shown (a dotted path from the item)
    item_label: str
    stream_dedup: StreamDedup

    @property
    def query_name(self) -> str:
        """Its streaming query, and the name of that query's checkpoint."""
        return f"ingest_{self.name}"

    def topic(self, settings: Settings) -> str:
        return str(getattr(settings, self.topic_setting))

    @property
    def outputs(self) -> tuple[str, ...]:
        """The tables its ingest writes (and ``quarantine``, which every signal writes)."""
        return schemas.tables(signal=self.name)

    def request_type(self) -> type[Message]:
        module, _, name = self.request_class.rpartition(".")
        cls: type[Message] = getattr(importlib.import_module(module), name)
        return cls


SIGNALS: dict[Signal, SignalDef] = {
    "traces": SignalDef(
        name="traces",
        topic_setting="topic_spans",
        decoder_class="dev.otellake.decode.TracesDecoder",
        sql_function="otlp_decode_traces",
        request_class=(
            "opentelemetry.proto.collector.trace.v1.trace_service_pb2.ExportTraceServiceRequest"
        ),
        resource_field="resource_spans",
        scope_field="scope_spans",
        item_field="spans",
        item_label="name",
        stream_dedup="span_keys",
    ),
    "logs": SignalDef(
        name="logs",
        topic_setting="topic_logs",
        decoder_class="dev.otellake.decode.LogsDecoder",
        sql_function="otlp_decode_logs",
        request_class=(
            "opentelemetry.proto.collector.logs.v1.logs_service_pb2.ExportLogsServiceRequest"
        ),
        resource_field="resource_logs",
        scope_field="scope_logs",
        item_field="log_records",
        item_label="body.string_value",
        stream_dedup="none",
    ),
    "metrics": SignalDef(
        name="metrics",
        topic_setting="topic_metrics",
        decoder_class="dev.otellake.decode.MetricsDecoder",
        sql_function="otlp_decode_metrics",
        request_class=(
            "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2"
            ".ExportMetricsServiceRequest"
        ),
        resource_field="resource_metrics",
        scope_field="scope_metrics",
        item_field="metrics",
        item_label="name",
        stream_dedup="none",
    ),
}
