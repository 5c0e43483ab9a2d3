"""The one output helper: each format on stdout, every message on stderr, one --format check."""

from __future__ import annotations

import json

import pytest

from otellake.cli import output
from otellake.errors import BadInput

ROWS = [
    {"service_name": "cart", "spans": 2, "error_rate": 0.5},
    {"service_name": "pay", "spans": 1, "error_rate": None},
]
DOC = {"analysis": "errors", "rows": ROWS}


def _show() -> None:
    output.table(["service", "spans"], [[r["service_name"], str(r["spans"])] for r in ROWS], "t")


def test_json_is_one_object_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    output.render("json", DOC, ROWS, _show)
    out, err = capsys.readouterr()
    assert json.loads(out) == DOC
    assert out.count("\n") == 1 and err == ""


def test_json_writes_dates_and_paths_as_strings(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date
    from pathlib import Path

    output.json_doc({"day": date(2026, 1, 2), "path": Path("/tmp/x")})
    assert json.loads(capsys.readouterr().out) == {"day": "2026-01-02", "path": "/tmp/x"}


def test_csv_is_a_header_and_a_line_per_row(capsys: pytest.CaptureFixture[str]) -> None:
    output.render("csv", DOC, ROWS, _show)
    out, err = capsys.readouterr()
    assert out.splitlines() == ["service_name,spans,error_rate", "cart,2,0.5", "pay,1,"]
    assert err == ""


def test_csv_of_no_rows_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    output.render("csv", {"rows": []}, [], _show)
    assert capsys.readouterr() == ("", "")


def test_table_is_the_commands_own_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    output.render("table", DOC, ROWS, _show)
    out, err = capsys.readouterr()
    assert "service" in out and "cart" in out and "pay" in out and "t" in out.splitlines()[0]
    assert "error_rate" not in out  # the command chose its columns
    assert err == ""


def test_table_cells_may_carry_markup(capsys: pytest.CaptureFixture[str]) -> None:
    output.table(["state"], [["[green]ready[/green]"]])
    out = capsys.readouterr().out
    assert "ready" in out and "[green]" not in out


def test_answer_lines_on_stdout_messages_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    output.say("report: /tmp/r.html")
    output.raw("--conf a=b")
    output.progress("starting the broker")
    output.note("wrote 3 rows to /tmp/lake/anomalies")
    output.error("no table 'spans'")
    out, err = capsys.readouterr()
    assert out.splitlines() == ["report: /tmp/r.html", "--conf a=b"]
    assert err.splitlines() == [
        "· starting the broker",
        "wrote 3 rows to /tmp/lake/anomalies",
        "error: no table 'spans'",
    ]


def test_progress_bar_writes_nothing_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with output.progress_bar("spans", 10) as update:
        for done in range(11):
            update(done)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("value", "allowed", "message"),
    [
        ("xml", output.TABLE_OR_JSON, "unknown format 'xml'; expected table or json"),
        ("csv", output.TABLE_OR_JSON, "unknown format 'csv'; expected table or json"),
        ("yaml", output.EVERY_FORMAT, "unknown format 'yaml'; expected table, json or csv"),
    ],
)
def test_a_format_the_command_lacks_is_bad_input(
    value: str, allowed: tuple[output.Format, ...], message: str
) -> None:
    with pytest.raises(BadInput) as raised:
        output.check_format(value, allowed)
    assert str(raised.value) == message


def test_a_format_the_command_has_is_returned() -> None:
    assert output.check_format("csv", output.EVERY_FORMAT) == "csv"
    assert output.check_format("json", output.TABLE_OR_JSON) == "json"
