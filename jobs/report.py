"""spark-submit entry point of the scheduled report, built with the Spark engine, e.g.

    .venv/bin/spark-submit $(.venv/bin/otellake spark-conf) jobs/report.py --since 24h --out reports

Takes the options of `otellake report` (one definition, in otellake.cli.report) and adds
`--engine spark`.
"""

import sys

from otellake.cli import app

if __name__ == "__main__":
    app(["report", *sys.argv[1:], "--engine", "spark"], prog_name="jobs/report.py")
