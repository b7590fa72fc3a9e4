"""Edges of the websocket protocol: a hello from the future, wildcard trusted origins, the last cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from apps.accounts.origin import origin_allowed
from tests.conftest import new_id
from tests.integration.test_ws_support import Sockets, membership_delete_quietly, polygon, stored_events

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.mark.asyncio
async def test_a_hello_past_the_streams_end_is_refused_and_the_socket_stays_usable(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk, since_seq=None)

    await peer.send({"type": "hello", "since_seq": 5})
    refusal = await peer.next("error")

    assert refusal["code"] == "since_seq_ahead"
    assert "(0)" in refusal["message"]
    await peer.hello(0)
    ack = await peer.command(polygon(new_id(), labels["cat"].pk, [[1, 1], [20, 1], [20, 20]]), "c-1")
    assert ack["type"] == "ack"
    assert [e["seq"] for e in await peer.events(1)] == [1]


def handshake(origin: str, host: str = "testserver", scheme: str = "ws") -> dict[str, Any]:
    return {
        "type": "websocket",
        "scheme": scheme,
        "headers": [(b"host", host.encode()), (b"origin", origin.encode())],
    }


@pytest.mark.django_db
def test_a_wildcard_trusted_origin_admits_its_subdomains_only(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]

    assert origin_allowed(handshake("https://labels.example.com"))
    assert not origin_allowed(handshake("https://example.com.evil.org"))
    assert not origin_allowed(handshake("http://labels.example.com")), "the scheme counts"
    assert not origin_allowed(handshake("https://labels.example.com:8443")), "the port counts"


@pytest.mark.django_db
def test_the_sites_own_origin_must_match_in_scheme_host_and_port(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["labels.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = []
    host = "labels.example.org:8000"

    assert origin_allowed(handshake("http://labels.example.org:8000", host))
    assert not origin_allowed(handshake("http://labels.example.org:9000", host)), "another port"
    assert not origin_allowed(handshake("http://labels.example.org", host)), "port 80 is another port"
    assert not origin_allowed(handshake("https://labels.example.org:8000", host)), "another scheme"
    assert origin_allowed(handshake("https://labels.example.org", "labels.example.org", scheme="wss"))
    assert not origin_allowed(handshake("http://labels.example.org", "labels.example.org", scheme="wss"))
    assert not origin_allowed(handshake("http://evil.example:8000", "evil.example:8000")), "host not allowed"
    assert not origin_allowed(handshake("null", host))


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_scheme_counts(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["labels.example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    scope = handshake("https://labels.example.org", "labels.example.org")
    scope["headers"].append((b"x-forwarded-proto", b"https"))

    assert origin_allowed(scope)
    assert not origin_allowed(handshake("https://labels.example.org", "labels.example.org"))


@pytest.mark.asyncio
async def test_the_last_cursor_of_a_quick_movement_reaches_the_others(
    sockets: Sockets, item: Any, annotator: Any, annotator2: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "WS_CURSORS_PER_SECOND": 5.0}
    alice = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)

    for x in range(1, 21):  # far past the rate: most positions are coalesced
        await alice.send({"type": "cursor", "x": float(x), "y": 7.0})
    seen = []
    while not seen or seen[-1]["x"] != 20.0:
        seen.append(await bob.next("cursor"))

    assert len(seen) < 20
    assert seen[-1] == {
        "type": "cursor",
        "user": {"id": annotator.pk, "username": annotator.username},
        "x": 20.0,
        "y": 7.0,
    }
    assert await stored_events(item.pk) == []


@pytest.mark.asyncio
async def test_a_hello_from_someone_no_longer_a_member_is_refused_and_the_socket_closed(
    sockets: Sockets, item: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk, since_seq=None)
    await membership_delete_quietly(item.job_id, annotator)

    await peer.send({"type": "hello", "since_seq": 0})

    assert (await peer.next("error"))["code"] == "permission_denied"
    assert await peer.close_code() == 4404


@pytest.mark.asyncio
async def test_hellos_past_their_budget_are_rate_limited(sockets: Sockets, item: Any, annotator: Any) -> None:
    peer = await sockets.item(annotator, item.pk, since_seq=None)

    answers = []
    for _ in range(8):
        await peer.send({"type": "hello", "since_seq": 0})
        answers.append((await peer.next("caught_up", "error")).get("code", "caught_up"))

    assert answers[:5] == ["caught_up"] * 5
    assert "rate_limited" in answers[5:]


@pytest.mark.asyncio
async def test_the_job_socket_drops_an_item_frame_older_than_one_it_sent(
    sockets: Sockets, job: Any, item: Any, manager: Any
) -> None:
    from channels.layers import get_channel_layer

    from apps.labeling import live

    watcher = await sockets.job(manager, job.pk)
    layer = get_channel_layer()
    newer = {"id": item.pk, "seq": 6, "status": "labeled"}
    older = {"id": item.pk, "seq": 5, "status": "unlabeled"}

    await layer.group_send(live.job_group(job.pk), {"type": live.JOB_ITEM, "item": newer})
    await layer.group_send(live.job_group(job.pk), {"type": live.JOB_ITEM, "item": older})

    assert (await watcher.next("item"))["item"] == newer
    assert await watcher.drain("item") == []


@pytest.mark.asyncio
async def test_a_long_lived_job_socket_remembers_a_bounded_number_of_images_and_still_drops_stale_frames(
    sockets: Sockets, job: Any, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the socket keeps to drop stale frames stays under JOB_SOCKET_ITEMS_KEPT images however many it
    hears of, and the frames of the images heard of most recently are the same as without a bound: the
    newer sent, the older and the repeated dropped."""
    from channels.layers import get_channel_layer

    from apps.labeling import consumers, live

    kept = 4
    monkeypatch.setattr(consumers, "JOB_SOCKET_ITEMS_KEPT", kept, raising=False)
    opened: list[Any] = []
    real_connect = consumers.JobConsumer.connect

    async def connect(self: Any) -> None:
        opened.append(self)
        await real_connect(self)

    monkeypatch.setattr(consumers.JobConsumer, "connect", connect)
    watcher = await sockets.job(manager, job.pk)
    layer = get_channel_layer()
    group = live.job_group(job.pk)
    ids = [1000 + n for n in range(3 * kept)]  # the socket checks no item id: any image of any size of job

    async def item(item_id: int, seq: int) -> None:
        await layer.group_send(group, {"type": live.JOB_ITEM, "item": {"id": item_id, "seq": seq}})

    async def assigned(item_id: int, change: int) -> None:
        row = {"id": item_id, "assignee": None, "assignee_name": None, "reviewer": None}
        row |= {"reviewer_name": None, "change": change}
        frame = {"by": None, "batch": f"b{change}", "changed": 1, "change": change, "items": [row]}
        await layer.group_send(group, {"type": live.JOB_ASSIGNMENTS, "assignments": frame})

    for n, item_id in enumerate(ids):
        await item(item_id, 5)
        await assigned(item_id, 100 + n)
    recent = ids[-kept:]
    for n, item_id in enumerate(recent):
        await item(item_id, 4)  # older than the one sent: stale
        await item(item_id, 5)  # the same again
        await assigned(item_id, 50 + n)  # an older change of the image: stale
    await item(recent[0], 6)
    await assigned(recent[0], 200)

    items = [(f["item"]["id"], f["item"]["seq"]) for f in await watcher.drain("item")]
    changes = [(f["items"][0]["id"], f["change"]) for f in await watcher.drain("assignments")]
    assert items == [(item_id, 5) for item_id in ids] + [(recent[0], 6)]
    assert changes == [(item_id, 100 + n) for n, item_id in enumerate(ids)] + [(recent[0], 200)]
    [consumer] = opened
    assert len(consumer.item_seqs) == len(consumer.assignment_changes) == kept


@pytest.mark.asyncio
async def test_the_job_socket_hears_about_deleted_images_and_new_counts(
    sockets: Sockets, job: Any, items: list[Any], manager: Any
) -> None:
    from channels.db import database_sync_to_async
    from rest_framework.test import APIClient

    watcher = await sockets.job(manager, job.pk)

    def delete_first() -> int:
        client = APIClient()
        client.force_authenticate(manager)
        return client.post("/api/items/delete/", {"item_ids": [items[0].pk]}, format="json").status_code

    assert await database_sync_to_async(delete_first)() == 200
    assert (await watcher.next("items_deleted"))["item_ids"] == [items[0].pk]
    assert (await watcher.next("counts"))["status_counts"]["all"] == len(items) - 1
