"""spark-submit entry point of the streaming ingest, e.g.

    .venv/bin/spark-submit $(.venv/bin/otellake spark-conf) jobs/ingest.py --signal traces

Takes exactly the options of `otellake ingest` (one definition, in otellake.cli.ingest);
spark-submit's --master, --jars/--packages and --conf apply as given.
"""

import sys

from otellake.cli import app

if __name__ == "__main__":
    app(["ingest", *sys.argv[1:]], prog_name="jobs/ingest.py")
