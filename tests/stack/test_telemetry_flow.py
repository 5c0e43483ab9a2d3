"""The OTel SDK -> our Collector -> Kafka: each signal arrives as its Export*ServiceRequest."""

from typing import Any

from otellake import topic_peek
from otellake.settings import Settings
from otellake.telemetry_probe import send_probe


def _trace_ids(value: bytes) -> set[str]:
    request = topic_peek.decode("traces", value)
    return {
        span.trace_id.hex()
        for rs in request.resource_spans  # type: ignore[attr-defined]
        for ss in rs.scope_spans
        for span in ss.spans
    }


def test_span_log_and_metric_reach_their_topics(stack: Settings) -> None:
    starts = {sig: topic_peek.end_offsets(stack, t) for sig, t in stack.topics.items()}
    probe = send_probe(stack, service_name="flow-test")

    spans = topic_peek.read_until(
        stack,
        stack.topic_spans,
        starts["traces"],
        lambda vs: any(probe.trace_id in _trace_ids(v) for v in vs),
    )
    found = [
        (rs, span)
        for v in spans
        for rs in topic_peek.decode("traces", v).resource_spans  # type: ignore[attr-defined]
        for ss in rs.scope_spans
        for span in ss.spans
        if span.trace_id.hex() == probe.trace_id
    ]
    assert len(found) == 1
    resource_spans, span = found[0]
    assert span.name == probe.span_name
    assert len(span.span_id) == 8
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "flow-test"

    logs = topic_peek.read_until(
        stack,
        stack.topic_logs,
        starts["logs"],
        lambda vs: topic_peek.contains("logs", vs, probe.log_body),
    )
    records: list[Any] = [
        r
        for v in logs
        for rl in topic_peek.decode("logs", v).resource_logs  # type: ignore[attr-defined]
        for sl in rl.scope_logs
        for r in sl.log_records
        if r.body.string_value == probe.log_body
    ]
    assert len(records) == 1
    assert records[0].trace_id.hex() == probe.trace_id  # emitted inside the span
    assert records[0].severity_text == "INFO"

    metrics = topic_peek.read_until(
        stack,
        stack.topic_metrics,
        starts["metrics"],
        lambda vs: topic_peek.contains("metrics", vs, probe.metric_name),
    )
    points = [
        dp
        for v in metrics
        for rm in topic_peek.decode("metrics", v).resource_metrics  # type: ignore[attr-defined]
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == probe.metric_name
        for dp in m.sum.data_points
    ]
    # A cumulative counter: every export (flush, then shutdown) carries the same total.
    assert points
    assert {p.as_int for p in points} == {3}
