"""spark-submit entry point of lake maintenance (schedule it, e.g. hourly or nightly):

    source .venv/bin/activate
    spark-submit $(otellake spark-conf) jobs/maintain.py [--dry-run] [--table spans] [--format json]

Takes exactly the options of `otellake maintain` (one definition, in otellake.cli.lake).
"""

import sys

from otellake.cli import app

if __name__ == "__main__":
    app(["maintain", *sys.argv[1:]], prog_name="jobs/maintain.py")
