"""`otellake cluster up|down` (a local Spark standalone cluster) and `otellake spark-conf` (the
spark-submit arguments of this installation)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from otellake.cli import output
from otellake.cli.stack import show_services
from otellake.settings import load_settings

HELP = (
    "A Spark standalone master and one worker on 127.0.0.1 (OTELLAKE_SPARK_MASTER_PORT, "
    "OTELLAKE_SPARK_UI_PORT); submit with --master spark://127.0.0.1:<port>."
)


def cluster_up() -> None:
    """Start the master and the worker; wait until the worker is registered."""
    from otellake.stack import spark_cluster

    show_services(spark_cluster.up(load_settings(), output.progress))


def cluster_down() -> None:
    """Stop the worker (and its executors), then the master: exactly the pids `up` started."""
    from otellake.stack import spark_cluster

    spark_cluster.down(load_settings(), output.progress)


def spark_conf(
    master: Annotated[
        str | None,
        typer.Option(help="the master the job will run on (default OTELLAKE_SPARK_MASTER)"),
    ] = None,
) -> None:
    """Print the --conf/--jars arguments for spark-submit that match this installation."""
    from otellake.spark_session import session_conf

    conf = session_conf(load_settings(), master)
    conf.pop("spark.master")
    conf["spark.pyspark.python"] = sys.executable
    args = []
    for key, value in conf.items():
        args += ["--jars", value] if key == "spark.jars" else ["--conf", f"{key}={value}"]
    output.raw(" ".join(args))
