"""Deleting images someone has open: the item socket of each deleted image gets `item_deleted` (who deleted
it, when, the record's id) when the deletion commits, and again after `caught_up` to a socket that says
hello later (a page that reconnects having missed it), so nobody learns of it only from a refused command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from tests.conftest import new_id
from tests.integration.test_asyncapi import _check
from tests.integration.test_ws_support import Sockets, polygon


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture
def document(transactional_db: None) -> dict[str, Any]:
    return APIClient().get("/api/asyncapi.json").json()


def delete_items(manager: Any, item_ids: list[int]) -> dict[str, Any]:
    client = APIClient()
    client.force_authenticate(manager)
    response = client.post("/api/items/delete/", {"item_ids": item_ids}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.mark.asyncio
async def test_the_item_socket_of_a_deleted_image_is_told_who_deleted_it_and_when(
    sockets: Sockets,
    document: dict[str, Any],
    items: list[Any],
    labels: Any,
    manager: Any,
    annotator: Any,
) -> None:
    drawer = await sockets.item(annotator, items[0].pk)
    bystander = await sockets.item(annotator, items[1].pk)  # an image that stays
    shape = new_id()
    assert (await drawer.command(polygon(shape, labels["cat"].pk, [[1, 1], [30, 1], [30, 30]]), "c-1"))[
        "type"
    ] == "ack"

    deletion = await database_sync_to_async(delete_items)(manager, [items[0].pk])

    told = await drawer.next("item_deleted")
    assert told == {
        "type": "item_deleted",
        "item_id": items[0].pk,
        "by": {"id": manager.pk, "username": manager.username},
        "deleted_at": told["deleted_at"],
        "deletion_id": deletion["id"],
    }
    assert told["deleted_at"].startswith(deletion["created_at"][:19])
    _check(document, [told], "item", "Server")
    assert await bystander.drain("item_deleted") == []
    # A command after it is refused, as before; what was stored stays readable.
    refused = await drawer.command({"type": "delete_shape", "shape_id": shape}, "c-2")
    assert (refused["type"], refused["code"]) == ("rejected", "item_deleted")


@pytest.mark.asyncio
async def test_a_socket_that_says_hello_on_a_deleted_image_hears_it_after_the_catch_up(
    sockets: Sockets, items: list[Any], labels: Any, manager: Any, annotator: Any
) -> None:
    first = await sockets.item(annotator, items[0].pk)
    acked = await first.command(polygon(new_id(), labels["cat"].pk, [[1, 1], [30, 1], [30, 30]]), "c-1")
    assert acked["type"] == "ack"
    deletion = await database_sync_to_async(delete_items)(manager, [items[0].pk])
    # Another deletion of the job, recorded as at the very moment this image was stamped deleted (as a
    # concurrent one may be): it comes first by time, and the record found must still be the one that
    # names this image.
    other = await database_sync_to_async(delete_items)(manager, [items[1].pk])
    await database_sync_to_async(_recorded_at_the_stamp_of)(other["id"], items[0].pk)

    later = await sockets.item(annotator, items[0].pk, since_seq=None)
    events, caught_up = await later.hello(0)

    assert [event["seq"] for event in events] == [1] and caught_up == 1
    told = await later.next("item_deleted")
    assert (told["item_id"], told["by"]["id"], told["deletion_id"]) == (
        items[0].pk,
        manager.pk,
        deletion["id"],
    )
    # An image still in its job: no such frame after the catch-up.
    alive = await sockets.item(annotator, items[2].pk, since_seq=None)
    await alive.hello(0)
    assert await alive.drain("item_deleted") == []


def _recorded_at_the_stamp_of(deletion_id: int, item_id: int) -> None:
    from apps.labeling.models import Item, ItemDeletion

    stamped = Item.objects.values_list("deleted_at", flat=True).get(pk=item_id)
    ItemDeletion.objects.filter(pk=deletion_id).update(created_at=stamped)
