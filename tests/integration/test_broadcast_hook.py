"""A command's broadcasts: the service returns them (never sends them itself), in seq order, and
`live.publish_on_commit` sends them only after the transaction commits, never for a refusal or a
rolled-back transaction. The REST commands endpoint publishes what its command returned."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from apps.labeling import live
from apps.labeling.domain import Rejected
from apps.labeling.domain.commands import AddPolygon, AddVertex, MoveShape, Save
from apps.labeling.services import item_command_handle
from tests.conftest import new_id

pytestmark = pytest.mark.django_db(transaction=True)
TRIANGLE = ((10.0, 10.0), (40.0, 10.0), (40.0, 40.0))


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, dict[str, Any]]]]:
    """What reaches the channel layer, batch by batch (as if a consumer were listening)."""
    batches: list[list[tuple[str, dict[str, Any]]]] = []

    class Layer:  # a channel layer, which `send` below stands for
        pass

    async def send(batch: list[tuple[str, dict[str, Any]]]) -> None:
        batches.append(list(batch))

    monkeypatch.setattr(live, "get_channel_layer", Layer)
    monkeypatch.setattr(live, "send", send)
    return batches


def test_the_service_returns_each_commands_broadcast_in_seq_order_and_sends_none(
    item: Any, labels: Any, annotator: Any, sent: list[Any]
) -> None:
    shape_id = new_id()
    results = [
        item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=command, command_id=new_id())
        for command in (
            AddPolygon(shape_id, labels["cat"].pk, TRIANGLE),
            MoveShape(shape_id, 2.0, 3.0),
            Save(),
        )
    ]

    assert sent == []
    broadcasts = [result.broadcasts for result in results]
    assert [len(b) for b in broadcasts] == [1, 1, 1]
    assert [b[0].events[0]["seq"] for b in broadcasts] == [1, 2, 3]
    assert [b[0].events[0]["type"] for b in broadcasts] == ["polygon_added", "shape_moved", "saved"]
    assert all(b[0].item_id == item.pk and b[0].job_id == item.job_id for b in broadcasts)
    assert broadcasts[-1][0].item["status"] == "labeled"
    assert broadcasts[-1][0].item["shape_count"] == 1
    # A move changes the outline a job page's thumbnail draws (no count): the job's pages hear of it too.
    assert [group for group, _ in broadcasts[1][0].messages()] == [
        live.item_group(item.pk),
        live.job_group(item.job_id),
    ]


def test_a_drafts_vertex_is_heard_only_by_the_items_watchers(
    item: Any, labels: Any, annotator: Any, sent: list[Any]
) -> None:
    result = item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=AddVertex(new_id(), 5.0, 5.0), command_id=new_id()
    )

    [broadcast] = result.broadcasts
    assert [group for group, _ in broadcast.messages()] == [live.item_group(item.pk)]


def test_a_refusal_has_nothing_to_broadcast(item: Any, annotator: Any, sent: list[Any]) -> None:
    with pytest.raises(Rejected):
        item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=MoveShape(new_id(), 1.0, 1.0))

    assert sent == []


def test_publishing_waits_for_the_outer_transaction_and_is_silent_when_it_rolls_back(
    item: Any, labels: Any, annotator: Any, sent: list[Any]
) -> None:
    command = AddPolygon(new_id(), labels["cat"].pk, TRIANGLE)
    with pytest.raises(RuntimeError), transaction.atomic():
        result = item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=command)
        live.publish_on_commit(result.broadcasts)
        assert sent == []
        raise RuntimeError("roll back")

    assert sent == []
    item.refresh_from_db()
    assert item.last_seq == 0


def test_a_command_over_rest_is_published_after_its_commit(
    item: Any, labels: Any, annotator_api: Any, add_polygon: Any, sent: list[Any]
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)

    [batch] = sent
    groups = [group for group, _ in batch]
    assert groups[0] == live.item_group(item.pk)
    assert batch[0][1]["events"][0]["seq"] == 1
    assert live.job_group(item.job_id) in groups  # the shape count a job page shows changed
