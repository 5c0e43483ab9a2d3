"""Pure ``DataFrame -> DataFrame`` transformations from Kafka records to lake rows.

Nothing here opens Kafka, files or sessions; the streaming job (``otellake.ingest``) does.
"""
