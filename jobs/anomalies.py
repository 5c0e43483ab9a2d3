"""spark-submit entry point of the scheduled anomaly detection, with the Spark engine, e.g.

    .venv/bin/spark-submit $(.venv/bin/otellake spark-conf) jobs/anomalies.py --since 15m

Takes the options of `otellake anomalies` (one definition, in otellake.cli.anomalies) and adds
`--engine spark`; the scored minutes go to the `anomalies` Delta table.
"""

import sys

from otellake.cli import app

if __name__ == "__main__":
    app(["anomalies", *sys.argv[1:], "--engine", "spark"], prog_name="jobs/anomalies.py")
