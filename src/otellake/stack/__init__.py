"""The local stack: a real Kafka broker (KRaft) and a real OpenTelemetry Collector."""
