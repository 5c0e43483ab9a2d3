"""`python -m otellake.cli`: the same command line as the `otellake` script."""

from otellake.cli import main

main()
