"""The KRaft cluster id never looks like an option to the storage tool."""

from __future__ import annotations

from unittest import mock

from otellake.stack import kafka_broker


def test_cluster_id_never_starts_with_a_dash() -> None:
    dashed = mock.Mock(bytes=b"\xf8" + bytes(15))  # base64url "-A..."
    plain = mock.Mock(bytes=bytes(16))  # "AAAA..."
    with mock.patch.object(kafka_broker.uuid, "uuid4", side_effect=[dashed, plain]):
        assert kafka_broker.new_cluster_id() == "A" * 22
    ids = {kafka_broker.new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000 and not any(i.startswith("-") for i in ids)
