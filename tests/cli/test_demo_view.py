"""The demo's view: its tables and lines go to stdout, whether telemetry arrived in colour."""

from __future__ import annotations

import pytest

from otellake.cli.demo import TerminalView


def test_tables_and_lines_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    view = TerminalView()
    view.table(["topic", "records", "found"], [["spans", "3", "yes"], ["logs", "0", "no"]])
    view.line("report: /tmp/report.html")
    out, err = capsys.readouterr()
    assert "spans" in out and "yes" in out and "no" in out and "[green]" not in out
    assert out.rstrip().endswith("report: /tmp/report.html") and err == ""
