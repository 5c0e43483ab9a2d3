"""Anomaly detection on the lake: per-service, per-minute features scored by an IsolationForest.

``features`` reads the lake (through the analytics engines), ``detector`` is pure (pandas in,
pandas out), ``table`` writes the ``anomalies`` Delta table, `otellake anomalies` is
``otellake.cli.anomalies``.
"""
