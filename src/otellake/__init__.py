"""otel-lake: OTLP from Kafka into a Delta lake."""
