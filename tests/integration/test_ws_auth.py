"""Who may open an item's or a job's websocket, how they prove it (token or session), which pages may open one
(origin), and what a watcher may not do once connected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async

from tests.conftest import IMAGES, new_id, png_bytes, square
from tests.integration.test_ws_support import (
    Sockets,
    membership_delete_quietly,
    polygon,
    refused,
    session_cookie_for,
    stored_events,
    token_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture
def other_job(make_user: Any) -> Any:
    """A second job, over its own dataset, that none of the first job's people belong to."""
    from apps.datasets.models import Dataset
    from apps.datasets.services import image_create
    from apps.labeling.services import job_create

    owner = make_user("olga_other_owner")
    dataset = Dataset.objects.create(name="Elsewhere", created_by=owner)
    path, width, height = IMAGES[0]
    image_create(dataset=dataset, path=path, content=png_bytes(width, height))
    return job_create(name="Other job", dataset=dataset, created_by=owner)


@database_sync_to_async
def first_item_id(job: Any) -> int:
    return job.items.values_list("pk", flat=True).first()


# Refused handshakes ------------------------------------------------------------------------------


async def test_it_refuses_anonymous_connections(item: Any, job: Any) -> None:
    assert await refused(f"/ws/items/{item.pk}/") == 4401
    assert await refused(f"/ws/jobs/{job.pk}/") == 4401


async def test_it_refuses_an_invalid_token(item: Any, job: Any) -> None:
    assert await refused(f"/ws/items/{item.pk}/?token=not-a-token") == 4401
    assert await refused(f"/ws/jobs/{job.pk}/?token=") == 4401


async def test_it_refuses_the_token_of_a_deactivated_user(item: Any, annotator: Any) -> None:
    key = await token_for(annotator)
    annotator.is_active = False
    await database_sync_to_async(annotator.save)()

    assert await refused(f"/ws/items/{item.pk}/?token={key}") == 4401


async def test_it_refuses_people_who_are_not_members(item: Any, job: Any, outsider: Any) -> None:
    key = await token_for(outsider)

    assert await refused(f"/ws/items/{item.pk}/?token={key}") == 4404
    assert await refused(f"/ws/jobs/{job.pk}/?token={key}") == 4404


async def test_it_refuses_an_item_or_job_that_does_not_exist(item: Any, job: Any, annotator: Any) -> None:
    key = await token_for(annotator)

    assert await refused(f"/ws/items/{item.pk + 10_000}/?token={key}") == 4404
    assert await refused(f"/ws/jobs/{job.pk + 10_000}/?token={key}") == 4404


async def test_a_member_of_one_job_is_refused_on_the_items_and_socket_of_another(
    job: Any, other_job: Any, annotator: Any, manager: Any
) -> None:
    other_item = await first_item_id(other_job)

    for person in (annotator, manager):
        key = await token_for(person)
        assert await refused(f"/ws/items/{other_item}/?token={key}") == 4404
        assert await refused(f"/ws/jobs/{other_job.pk}/?token={key}") == 4404


# Accepted handshakes -----------------------------------------------------------------------------


async def test_a_token_connection_acts_as_the_tokens_user(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    answer = await peer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "t1")

    assert answer["type"] == "ack"
    assert [event["actor"] for event in await stored_events(item.pk)] == [annotator.pk]


async def test_a_session_cookie_authenticates_a_browser(
    sockets: Sockets, item: Any, job: Any, labels: Any, annotator: Any
) -> None:
    cookie = await session_cookie_for(annotator)

    peer = await sockets.open(f"/ws/items/{item.pk}/", headers=[(b"cookie", cookie)])
    here = await peer.next("presence")
    answer = await peer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "s1")
    await sockets.open(f"/ws/jobs/{job.pk}/", headers=[(b"cookie", cookie)])

    assert here["user"] == {"id": annotator.pk, "username": annotator.username}
    assert answer["type"] == "ack"
    assert [event["actor"] for event in await stored_events(item.pk)] == [annotator.pk]


async def test_a_token_wins_over_a_session_cookie(
    sockets: Sockets, item: Any, annotator: Any, annotator2: Any
) -> None:
    cookie = await session_cookie_for(annotator)

    peer = await sockets.open(
        f"/ws/items/{item.pk}/?token={await token_for(annotator2)}", headers=[(b"cookie", cookie)]
    )

    assert (await peer.next("presence"))["user"]["id"] == annotator2.pk


async def test_a_wrong_token_is_refused_even_beside_a_valid_session_cookie(item: Any, annotator: Any) -> None:
    cookie = await session_cookie_for(annotator)

    assert await refused(f"/ws/items/{item.pk}/?token=wrong", headers=[(b"cookie", cookie)]) == 4401


async def test_a_session_cookie_that_names_no_session_is_anonymous(item: Any) -> None:
    assert (
        await refused(f"/ws/items/{item.pk}/", headers=[(b"cookie", b"sessionid=forged-session-key")]) == 4401
    )


# Origin ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://testserver.evil.example", "null", "http://localhost.evil.example"],
)
async def test_a_page_from_another_site_may_not_open_a_socket(item: Any, annotator: Any, origin: str) -> None:
    cookie = await session_cookie_for(annotator)

    code = await refused(f"/ws/items/{item.pk}/", headers=[(b"cookie", cookie), (b"origin", origin.encode())])

    assert code not in (4401, 4404)  # turned away by the origin check, before anyone looked at the session


@pytest.mark.parametrize(
    "origin",
    [
        "http://testserver:8000",
        "https://testserver:8000",
        "http://localhost:8000",
        "http://evil.example:8000",
    ],
)
async def test_a_page_of_this_site_on_another_scheme_or_port_may_not_open_a_socket(
    item: Any, annotator: Any, origin: str
) -> None:
    cookie = await session_cookie_for(annotator)
    headers = [(b"cookie", cookie), (b"host", b"testserver"), (b"origin", origin.encode())]

    assert await refused(f"/ws/items/{item.pk}/", headers=headers) not in (4401, 4404)


@pytest.mark.parametrize(
    "host, origin",
    [("testserver", "http://testserver"), ("localhost:8000", "http://localhost:8000"), ("testserver", None)],
)
async def test_a_page_of_this_site_or_a_program_without_origin_may_open_a_socket(
    sockets: Sockets, item: Any, annotator: Any, host: str, origin: str | None
) -> None:
    headers = [(b"cookie", await session_cookie_for(annotator)), (b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))

    peer = await sockets.open(f"/ws/items/{item.pk}/", headers=headers)

    assert (await peer.next("presence"))["user"]["id"] == annotator.pk


# Once connected ----------------------------------------------------------------------------------


async def test_an_auditor_may_watch_but_its_commands_are_rejected(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, auditor: Any
) -> None:
    watcher = await sockets.item(auditor, item.pk)
    drawer = await sockets.item(annotator, item.pk)
    await drawer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "a1")

    seen = await watcher.events(1)
    answer = await watcher.command(polygon(new_id(), labels["cat"].pk, square(30, 5, 9)), "aud-1")

    assert [event["seq"] for event in seen] == [1]
    assert answer["type"] == "rejected"
    assert answer["code"] == "permission_denied"
    assert len(await stored_events(item.pk)) == 1


async def test_a_member_removed_while_connected_may_no_longer_label(
    sockets: Sockets, item: Any, job: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)
    await membership_delete_quietly(job.pk, annotator)

    answer = await peer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "gone")

    assert answer["type"] == "rejected"
    assert answer["code"] == "permission_denied"
    assert await stored_events(item.pk) == []


async def test_a_frame_that_names_another_item_is_answered_wrong_item(
    sockets: Sockets, items: list[Any], labels: Any, annotator: Any
) -> None:
    item, other = items[1], items[0]
    peer = await sockets.item(annotator, item.pk, since_seq=None)
    command = polygon(new_id(), labels["cat"].pk, square(5, 5, 9))

    await peer.send({"type": "hello", "since_seq": 0, "item_id": other.pk})
    hello = await peer.next("error", "caught_up", "event")
    await peer.send({"type": "command", "command_id": "w1", "command": command, "item_id": other.pk})
    wrong_command = await peer.answer("w1")
    await peer.send({"type": "cursor", "x": 1, "y": 2, "item_id": other.pk})
    cursor = await peer.next("error")
    await peer.send({"type": "command", "command_id": "w2", "command": command, "item_id": item.pk})
    right_command = await peer.answer("w2")

    assert (hello["type"], hello["code"]) == ("error", "wrong_item")
    assert (wrong_command["type"], wrong_command["code"]) == ("rejected", "wrong_item")
    assert (cursor["type"], cursor["code"]) == ("error", "wrong_item")
    assert right_command == {"type": "ack", "command_id": "w2", "seq": 1}
    assert [event["item_id"] for event in await stored_events_with_item(item.pk, other.pk)] == [item.pk]


async def test_a_ping_that_names_another_item_is_answered_wrong_item(
    sockets: Sockets, items: list[Any], annotator: Any
) -> None:
    peer = await sockets.item(annotator, items[1].pk)

    await peer.send({"type": "ping", "item_id": items[0].pk})
    answer = await peer.next("error", "pong")

    assert (answer["type"], answer.get("code")) == ("error", "wrong_item")


@database_sync_to_async
def stored_events_with_item(*item_ids: int) -> list[dict[str, Any]]:
    from apps.labeling.models import StoredEvent

    return list(StoredEvent.objects.filter(item_id__in=item_ids).values("item_id", "seq"))
