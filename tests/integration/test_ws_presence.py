"""Presence and cursors on an item's websocket: who is here, who joins and leaves, where their pointers are;
none of it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.integration.test_ws_support import Sockets, stored_events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


def who(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username}


async def test_a_watcher_sees_another_person_join_and_leave(
    sockets: Sockets, item: Any, annotator: Any, annotator2: Any
) -> None:
    bob = await sockets.item(annotator2, item.pk)

    alice = await sockets.item(annotator, item.pk)
    joined = await bob.next("presence")
    await alice.close()
    left = await bob.next("presence")

    assert joined["event"] == "join"
    assert joined["user"] == who(annotator)
    assert joined["users"] == [who(annotator2), who(annotator)]
    assert left["event"] == "leave"
    assert left["user"] == who(annotator)
    assert left["users"] == [who(annotator2)]


async def test_a_newcomer_is_told_who_is_already_there(
    sockets: Sockets, item: Any, annotator: Any, annotator2: Any, auditor: Any
) -> None:
    await sockets.item(annotator, item.pk)
    await sockets.item(auditor, item.pk)

    newcomer = await sockets.item(annotator2, item.pk)
    others = await newcomer.take(2, "presence")

    assert {frame["event"] for frame in others} == {"here"}
    assert sorted(frame["user"]["id"] for frame in others) == sorted([annotator.pk, auditor.pk])
    assert sorted(user["id"] for user in others[-1]["users"]) == sorted(
        [annotator.pk, annotator2.pk, auditor.pk]
    )


async def test_a_watcher_of_another_item_sees_no_presence(
    sockets: Sockets, items: list[Any], annotator: Any, annotator2: Any
) -> None:
    elsewhere = await sockets.item(annotator2, items[1].pk)

    alice = await sockets.item(annotator, items[0].pk)
    await alice.close()

    assert await elsewhere.drain("presence") == []


async def test_a_cursor_reaches_the_others_not_the_sender_and_is_not_stored(
    sockets: Sockets, item: Any, annotator: Any, annotator2: Any, auditor: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)
    watcher = await sockets.item(auditor, item.pk)

    await alice.send({"type": "cursor", "x": 12.5, "y": 40})

    expected = {"type": "cursor", "user": who(annotator), "x": 12.5, "y": 40}
    assert await bob.next("cursor") == expected
    assert await watcher.next("cursor") == expected
    assert await alice.drain("cursor", "error") == []
    assert await stored_events(item.pk) == []
    _, seq = await bob.hello(0)
    assert seq == 0
