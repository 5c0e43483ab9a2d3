from datetime import timedelta

import pytest

from otellake.durations import parse_duration, spark_interval


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("5s", timedelta(seconds=5)),
        ("1m", timedelta(minutes=1)),
        ("1h", timedelta(hours=1)),
        ("7d", timedelta(days=7)),
        ("1.5s", timedelta(seconds=1.5)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "5", "5x", "s", "-1s", "1 week"])
def test_bad_duration_names_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match=f"bad duration {bad!r}"):
        parse_duration(bad)


def test_spark_interval() -> None:
    assert spark_interval("1s") == "1000 milliseconds"
    assert spark_interval("500ms") == "500 milliseconds"
