"""spark-submit entry point for scheduled analytics: run one analysis on Spark and append its
rows to the ``analytics_<analysis>`` Delta table (for dashboards), e.g.

    .venv/bin/spark-submit $(.venv/bin/otellake spark-conf) jobs/analytics.py errors --since 1h
    .venv/bin/spark-submit $(.venv/bin/otellake spark-conf) jobs/analytics.py latency \\
        --since 1h --by operation --bucket 5m
    .venv/bin/spark-submit $(.venv/bin/otellake spark-conf) jobs/analytics.py critical-path \\
        --since 1h --slowest 99
    .venv/bin/spark-submit $(.venv/bin/otellake spark-conf) jobs/analytics.py slo \\
        --since 1h --objective 99.9 --latency-threshold 300ms

Takes the options of `otellake analyze` (one definition, in otellake.cli.analyze) and adds
`--engine spark --save`; the rows are also printed (`--format json` for machines; note that
spark-submit joins the Python driver's stderr, where progress goes, to its stdout).
"""

import sys

from otellake.cli import app

if __name__ == "__main__":
    app(["analyze", *sys.argv[1:], "--engine", "spark", "--save"], prog_name="jobs/analytics.py")
