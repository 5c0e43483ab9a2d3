"""The Kafka stream's options: what each setting and CLI choice turns into."""

from pathlib import Path

from otellake.ingest.source import FETCH_MAX_WAIT_MS, IngestOptions, source_options
from tests.conftest import isolated_settings


def test_the_stream_never_waits_long_at_the_broker_for_data(tmp_path: Path) -> None:
    values = source_options(isolated_settings(tmp_path), "t", IngestOptions())
    # a read task asks only for offsets that exist: a broker-side wait is pure latency
    assert int(values["kafka.fetch.max.wait.ms"]) == FETCH_MAX_WAIT_MS <= 50
    assert values["subscribe"] == "t" and values["startingOffsets"] == "earliest"
    assert values["failOnDataLoss"] == "true" and "maxOffsetsPerTrigger" not in values


def test_a_start_time_a_batch_limit_and_accepted_loss_become_options(tmp_path: Path) -> None:
    options = IngestOptions(starting_timestamp=1_700_000_000_000, accept_data_loss=True)
    values = source_options(isolated_settings(tmp_path), "t", options, max_records=250)
    assert values["startingTimestamp"] == "1700000000000"
    assert values["startingOffsetsByTimestampStrategy"] == "latest"
    assert "startingOffsets" not in values
    assert values["maxOffsetsPerTrigger"] == "250" and values["failOnDataLoss"] == "false"
