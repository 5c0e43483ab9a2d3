"""How a query's failure text is read: what counts as Kafka data loss, and the line the
operator is shown."""

from __future__ import annotations

from otellake.ingest.failures import is_data_loss, summary

PYTHON_PROXY = (
    "An exception was raised by the Python Proxy. Return Message: Traceback (most recent call "
    "last):\n"
    '  File "/x/py4j/clientserver.py", line 644, in _call_proxy\n'
    "    return_value = getattr(self.pool[obj_id], method)(*params)\n"
    '  File "/x/otellake/ingest/batch.py", line 120, in write\n'
    "    offset = lost_offsets[partition]  # a line that says lost and offset\n"
    "otellake.errors.OtelLakeError: the streaming query did not report its id within 60 s\n"
    "\n"
    "\tat py4j.Protocol.getReturnValue(Protocol.java:476)\n"
)


def test_a_python_batch_failure_shows_its_exception_line() -> None:
    assert summary(PYTHON_PROXY) == (
        "otellake.errors.OtelLakeError: the streaming query did not report its id within 60 s"
    )


def test_other_failures_show_their_first_line() -> None:
    assert summary("[STREAM_FAILED] boom\n\tat x.y(Z.java:1)") == "[STREAM_FAILED] boom"
    assert summary("") == ""


def test_only_sparks_own_data_loss_words_count() -> None:
    assert is_data_loss(
        "[KAFKA_DATA_LOSS.START_OFFSET_RESET] Some data may have been lost because they are "
        "not available in Kafka any more"
    )
    assert is_data_loss("Cannot fetch offset 5. Some data may have been lost because ...")
    # a traceback that mentions both words is not data loss (it is retried)
    assert not is_data_loss(PYTHON_PROXY)
    # Spark calls this one transient ("restart your query")
    assert not is_data_loss(
        "[LOST_TOPIC_PARTITIONS_IN_END_OFFSET_WITH_TRIGGER_AVAILABLENOW] Some of partitions in "
        "Kafka topic(s) have been lost during running query with Trigger.AvailableNow."
    )
