"""`otellake bench`: ``run`` measures every part on a private stack and saves the results;
``results`` holds the figures' goals and writes the JSON and the table in docs/benchmark.md.

The part names live here, apart from ``run`` (which imports the generator, ingest and Spark), so
the command line can list them in its help without loading any of that."""

PARTS = ("ingest", "baselines", "freshness", "sustained", "analytics")
