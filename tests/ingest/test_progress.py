"""The progress line's figures that are computed, not copied from Spark."""

import time

from otellake.ingest.progress import behind_s


def test_behind_is_the_age_of_the_oldest_record() -> None:
    assert behind_s(None) is None
    behind = behind_s(int((time.time() - 60) * 1000))
    assert behind is not None and 59 <= behind <= 61
    assert behind_s(int((time.time() + 5) * 1000)) == 0  # a producer clock ahead of ours
