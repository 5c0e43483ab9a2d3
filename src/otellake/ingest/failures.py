"""Why an ingest query stopped, in our words: which failures a restart from the checkpoint
would only repeat (data loss, a refused login, a checkpoint this version cannot resume), and
the message each gives the operator. Spark reports them as text, so they are told apart by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from otellake import kafka_clients, lake
from otellake.errors import OtelLakeError
from otellake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql.streaming import StreamingQuery


class DataLossError(OtelLakeError):
    """Kafka no longer has offsets the checkpoint expects (retention deleted them)."""


class CheckpointWithoutDedupState(OtelLakeError):
    """The query's checkpoint was written without the dedup operator (OTELLAKE_DEDUP_WINDOW=0,
    or a version before dedup); Spark cannot add a stateful operator to it, so a restart
    would fail the same way."""


class CheckpointFromOlderDedup(OtelLakeError):
    """The query's checkpoint holds the dedup state of an earlier version (Spark's
    ``dropDuplicatesWithinWatermark``); this version keys the dedup with ``transformWithState``
    and Spark cannot resume one operator's state with the other."""


# Failures a restart from the checkpoint would only repeat: the run stops with them.
NOT_RESTARTED = (
    DataLossError,
    CheckpointWithoutDedupState,
    CheckpointFromOlderDedup,
    kafka_clients.KafkaAuthError,
)


def older_dedup_message(query: StreamingQuery, settings: Settings) -> str:
    from pyspark.sql import SparkSession

    checkpoint = lake.checkpoint_path(settings, str(query.name))
    offsets = lake.committed_offsets(SparkSession.builder.getOrCreate(), checkpoint)
    resume = (
        f"otellake ingest --signal traces --starting-offsets '{offsets}'"
        if offsets
        else "otellake ingest --signal traces"
    )
    return (
        f"query {query.name}: its checkpoint {checkpoint} holds the dedup state of an earlier "
        "otel-lake version (Spark's dropDuplicatesWithinWatermark), which this version's "
        "dedup cannot resume. Move the checkpoint aside and continue from the offsets it "
        f"committed: mv {checkpoint} {checkpoint}.before-key-dedup && {resume} "
        "(nothing is read twice; a retry delivered across the move may land twice)"
    )


def raise_failure(query: StreamingQuery, settings: Settings) -> None:
    exc = query.exception()
    if exc is None:
        return
    text = str(exc)
    if "AuthenticationException" in text:
        # Retrying a refused login from the checkpoint would only repeat it.
        reason = text.partition("AuthenticationException: ")[2].splitlines()[0:1]
        raise kafka_clients.auth_error(settings, reason[0] if reason else text.splitlines()[0])
    if "STREAMING_STATEFUL_OPERATOR_MISSING_STATE_DIRECTORY" in text:
        raise CheckpointWithoutDedupState(
            f"query {query.name}: its checkpoint "
            f"{lake.checkpoint_path(settings, str(query.name))} has no dedup state: it was "
            "written with OTELLAKE_DEDUP_WINDOW=0 or by a version before the dedup existed, "
            "and Spark cannot add the dedup to it. Run this checkpoint with "
            "OTELLAKE_DEDUP_WINDOW=0 (it still resumes exactly once), or start a new lake"
        )
    if "STREAMING_STATEFUL_OPERATOR_NOT_MATCH_IN_STATE_METADATA" in text and (
        "dedupeWithinWatermark" in text
    ):
        raise CheckpointFromOlderDedup(older_dedup_message(query, settings))
    if is_data_loss(text):
        raise DataLossError(
            f"query {query.name}: Kafka no longer has offsets the checkpoint expects (retention "
            f"deleted them before ingest read them). Nothing was skipped silently. To continue "
            f"from the earliest offset still available, rerun with --accept-data-loss. "
            f"Spark said: {summary(text)}"
        )
    raise OtelLakeError(f"query {query.name} failed: {summary(text)}")


# Spark's Kafka source: the KAFKA_DATA_LOSS error class, and the text of its older messages
DATA_LOSS_MARKS = ("KAFKA_DATA_LOSS", "Some data may have been lost")


def is_data_loss(text: str) -> bool:
    """Whether Spark's failure text is its Kafka source's data loss (never retried). Only its
    own words count: a traceback that merely mentions "lost" and "offset" is not one."""
    return any(mark in text for mark in DATA_LOSS_MARKS)


def summary(text: str) -> str:
    """The line of a failure's text that says what went wrong: the first, or, for an exception
    raised by our Python batch function (which py4j reports as "An exception was raised by the
    Python Proxy. Return Message: Traceback ..."), that exception's own line."""
    lines = text.splitlines()
    if not lines:
        return text
    if "Traceback (most recent call last):" in lines[0]:
        traceback = []
        for line in lines[1:]:
            if line.startswith("\tat "):  # the JVM's stack follows the Python traceback
                break
            traceback.append(line)
        exception = [line for line in traceback if line.strip() and not line[0].isspace()]
        if exception:
            return exception[-1]
    return lines[0]
