"""The service's broadcast hook: events_committed fires after commit, once per command, in seq order,
and never for a refusal or a rolled-back transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from apps.labeling.domain import Rejected
from apps.labeling.domain.commands import AddPolygon, MoveShape, Save
from apps.labeling.services import item_command_handle
from apps.labeling.signals import events_committed
from tests.conftest import new_id

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard() -> Any:
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append(kwargs)

    events_committed.connect(receiver)
    yield calls
    events_committed.disconnect(receiver)


def test_it_announces_each_command_after_commit_in_seq_order(
    item: Any, labels: Any, annotator: Any, heard: Any
) -> None:
    shape_id = new_id()
    points = ((10.0, 10.0), (40.0, 10.0), (40.0, 40.0))
    for command in (AddPolygon(shape_id, labels["cat"].pk, points), MoveShape(shape_id, 2.0, 3.0), Save()):
        item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=command, command_id=new_id())

    assert [call["events"][0]["seq"] for call in heard] == [1, 2, 3]
    assert [call["events"][0]["type"] for call in heard] == ["polygon_added", "shape_moved", "saved"]
    assert all(call["item_id"] == item.pk and call["job_id"] == item.job_id for call in heard)
    assert heard[-1]["item"]["status"] == "labeled"
    assert heard[-1]["item"]["shape_count"] == 1


def test_it_is_silent_for_a_refusal(item: Any, annotator: Any, heard: Any) -> None:
    with pytest.raises(Rejected):
        item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=MoveShape(new_id(), 1.0, 1.0))

    assert heard == []


def test_it_waits_for_the_outer_transaction_and_is_silent_when_it_rolls_back(
    item: Any, labels: Any, annotator: Any, heard: Any
) -> None:
    command = AddPolygon(new_id(), labels["cat"].pk, ((10.0, 10.0), (40.0, 10.0), (40.0, 40.0)))
    with pytest.raises(RuntimeError), transaction.atomic():
        item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=command)
        assert heard == []
        raise RuntimeError("roll back")

    assert heard == []
    item.refresh_from_db()
    assert item.last_seq == 0
