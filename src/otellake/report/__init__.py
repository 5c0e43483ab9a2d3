"""The scheduled report: ``collect`` asks the lake (analytics API, anomaly detector) for the
window's figures, ``charts`` draws them (matplotlib, PNG), ``html`` writes one self-contained
page; `otellake report` is ``otellake.cli.report``."""
