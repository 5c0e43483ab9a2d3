"""Streaming ingest: Kafka topics -> JVM decode -> Delta tables, exactly once per batch."""
