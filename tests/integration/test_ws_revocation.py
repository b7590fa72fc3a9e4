"""Access that shrinks while a socket is open: a member removed, a role lowered, a user deactivated or no
longer staff, the token that opened it revoked, a password change that ends the session. Their open sockets close with 4403 after an `access_revoked` error, get nothing more of the
job, and no command of theirs is stored, whichever way the change was made (REST, admin, a plain save)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async

from apps.labeling.consumers import CLOSE_ACCESS_REVOKED
from tests.conftest import new_id, square
from tests.integration.test_ws_support import (
    Peer,
    Sockets,
    membership_delete_quietly,
    polygon,
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


@database_sync_to_async
def member_id(job: Any, user: Any) -> int:
    return job.memberships.get(user=user).pk


@database_sync_to_async
def api(client: Any, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
    response = getattr(client, method)(url, data, format="json")
    assert response.status_code < 300, response.content
    return response


@database_sync_to_async
def user_save(user: Any, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()


@database_sync_to_async
def user_update_quietly(user: Any, **fields: Any) -> None:
    """Change the user's row without a save() (no signal): only the per-command check can notice."""
    type(user).objects.filter(pk=user.pk).update(**fields)


async def test_removing_a_member_closes_their_item_and_job_sockets(
    sockets: Sockets, item: Any, job: Any, annotator: Any, manager_api: Any
) -> None:
    on_item = await sockets.item(annotator, item.pk)
    on_job = await sockets.job(annotator, job.pk)

    await api(manager_api, "delete", f"/api/jobs/{job.pk}/members/{await member_id(job, annotator)}/")

    assert await on_item.close_code() == CLOSE_ACCESS_REVOKED
    assert await on_job.close_code() == CLOSE_ACCESS_REVOKED
    assert [f["code"] for f in on_item.frames if f["type"] == "error"] == ["access_revoked"]


async def test_lowering_a_role_closes_the_socket_and_keeps_others_open(
    sockets: Sockets, item: Any, job: Any, labels: Any, annotator: Any, annotator2: Any, manager_api: Any
) -> None:
    lowered = await sockets.item(annotator, item.pk)
    colleague = await sockets.item(annotator2, item.pk)

    await api(
        manager_api,
        "post",
        f"/api/jobs/{job.pk}/members/",
        {"username": annotator.username, "role": "auditor"},
    )
    code = await lowered.close_code()
    answer = await colleague.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "c1")
    await colleague.events(1)

    assert code == CLOSE_ACCESS_REVOKED
    assert answer["type"] == "ack"
    # The error is the last frame the closed socket got: nothing more of the job reached it.
    assert lowered.frames[-1]["code"] == "access_revoked"


async def test_raising_a_role_or_another_jobs_change_leaves_the_socket_open(
    sockets: Sockets, item: Any, job: Any, labels: Any, auditor: Any, annotator: Any, manager_api: Any
) -> None:
    watcher = await sockets.item(auditor, item.pk)
    worker = await sockets.item(annotator, item.pk)

    await api(
        manager_api,
        "post",
        f"/api/jobs/{job.pk}/members/",
        {"username": auditor.username, "role": "annotator"},
    )
    await user_save(annotator, first_name="Ann")  # a profile change takes no access away
    answer = await worker.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "w1")

    assert answer["type"] == "ack"
    assert (await watcher.events(1))[0]["type"] == "polygon_added"
    assert await watcher.socket.receive_nothing(timeout=0.2)


async def test_deactivating_a_user_closes_their_sockets(
    sockets: Sockets, item: Any, job: Any, annotator: Any
) -> None:
    on_item = await sockets.item(annotator, item.pk)
    on_job = await sockets.job(annotator, job.pk)

    await user_save(annotator, is_active=False)

    assert await on_item.close_code() == CLOSE_ACCESS_REVOKED
    assert await on_job.close_code() == CLOSE_ACCESS_REVOKED


async def test_a_staff_user_who_loses_staff_status_is_closed_out_of_jobs_they_are_not_in(
    sockets: Sockets, item: Any, staff: Any
) -> None:
    peer = await sockets.item(staff, item.pk)

    await user_save(staff, is_staff=False)

    assert await peer.close_code() == CLOSE_ACCESS_REVOKED


async def test_a_deactivated_users_command_is_refused_even_before_the_socket_closes(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    await user_update_quietly(annotator, is_active=False)
    answer = await peer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "d1")

    assert answer["type"] == "rejected" and answer["code"] == "permission_denied"
    assert await stored_events(item.pk) == []


async def test_a_removed_members_command_is_refused_even_before_the_socket_closes(
    sockets: Sockets, item: Any, job: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    await membership_delete_quietly(job.pk, annotator)
    answer = await peer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "r1")

    assert answer["type"] == "rejected" and answer["code"] == "permission_denied"
    assert await stored_events(item.pk) == []


async def test_a_former_staff_users_command_is_refused_on_a_job_they_are_not_in(
    sockets: Sockets, item: Any, labels: Any, staff: Any
) -> None:
    peer = await sockets.item(staff, item.pk)

    await user_update_quietly(staff, is_staff=False)
    answer = await peer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "s1")

    assert answer["type"] == "rejected" and answer["code"] == "permission_denied"
    assert await stored_events(item.pk) == []


# The sign-in behind the socket ----------------------------------------------------------------------


async def open_with_token(sockets: Sockets, item: Any, user: Any) -> tuple[Peer, str]:
    token = await token_for(user)
    peer = await sockets.open(f"/ws/items/{item.pk}/?token={token}")
    await peer.next("presence")
    return peer, token


@database_sync_to_async
def logout(token: str) -> None:
    from rest_framework.test import APIClient

    response = APIClient().delete("/api/auth/token/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 204, response.content


@database_sync_to_async
def password_change(user: Any) -> None:
    user.set_password("a-new-password-entirely")
    user.save()


async def test_a_logout_closes_the_sockets_its_token_opened_and_no_others(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    by_token, token = await open_with_token(sockets, item, annotator)
    other_client, _ = await open_with_token(sockets, item, annotator)

    await logout(token)

    assert await by_token.close_code() == CLOSE_ACCESS_REVOKED
    answer = await other_client.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 9)), "o1")
    assert answer["type"] == "ack"


async def test_a_password_change_closes_token_and_session_sockets(
    sockets: Sockets, item: Any, annotator: Any
) -> None:
    by_token, _ = await open_with_token(sockets, item, annotator)
    browser = await sockets.open(
        f"/ws/items/{item.pk}/", headers=[(b"cookie", await session_cookie_for(annotator))]
    )

    await password_change(annotator)

    assert await by_token.close_code() == CLOSE_ACCESS_REVOKED
    assert await browser.close_code() == CLOSE_ACCESS_REVOKED
