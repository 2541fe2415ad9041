"""The Kafka cluster id the launcher draws is one the storage tool accepts."""

import base64
import uuid
from unittest import mock

from deploy.kafka_cluster import new_cluster_id


def test_an_id_starting_with_a_dash_is_drawn_again():
    dashed = uuid.UUID(bytes=b"\xf8" + bytes(15))  # base64 of 0xf8… begins with "-"
    plain = uuid.UUID(bytes=b"\x01" * 16)
    assert base64.urlsafe_b64encode(dashed.bytes).decode().startswith("-")
    with mock.patch("deploy.kafka_cluster.uuid.uuid4", side_effect=[dashed, dashed, plain]):
        cluster_id = new_cluster_id()
    assert cluster_id == base64.urlsafe_b64encode(plain.bytes).rstrip(b"=").decode()


def test_ids_are_22_url_safe_characters_and_never_start_with_a_dash():
    for _ in range(2000):
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert base64.urlsafe_b64decode(cluster_id + "==")
