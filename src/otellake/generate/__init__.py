"""`otellake generate`: a simulated microservice shop's telemetry, with its ground truth.

shop.py         the static model: services, instances, scopes, operations and calls
simulate.py     seeded request trees of spans and their logs
metrics.py      periodic metrics per instance, derived from the spans
otlp_proto.py   export requests as protobuf (fast path over wire.py)
otlp_json.py    the same requests as OTLP/JSON
kafka_sink.py   --mode kafka: records straight to the topics
collector_sink.py  --mode collector: the OTel SDK to the Collector
truth.py        counts, latency and error rows with the analytics' semantics
run.py          one run: simulate -> requests -> sink, truth alongside
options.py      the command line's values, checked (the command: otellake.cli.generate)
"""
