"""Analyses defined once (SQL built per dialect) and run on DuckDB or Spark with equal answers."""
