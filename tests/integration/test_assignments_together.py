"""Assignments with several people at once (issue 24, point 4): a manager's assignments reach every open
job page live (the job socket's `assignments` frame), two managers assigning the same images leave the
last one's seats, both changes recorded and every page showing them, and two people pressing "Start
review" at the same moment are sent to different images unless they choose to join."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.db import connection, transaction

from apps.labeling import live
from tests.conftest import new_id, square
from tests.db_locks import OnItsOwnConnection, waits_on_a_lock
from tests.integration.test_asyncapi import _check
from tests.integration.test_ws_support import Peer, Sockets

# A thread that should finish in milliseconds; this only bounds a failing test.
JOIN = 20.0


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture
def manager2(job: Any, make_user: Callable[..., Any]) -> Any:
    from apps.labeling.models import Role
    from apps.labeling.services import job_member_set

    person = make_user("max_manager")
    job_member_set(job=job, user=person, role=Role.MANAGER)
    return person


@pytest.fixture
def reviewer2(job: Any, make_user: Callable[..., Any]) -> Any:
    from apps.labeling.models import Role
    from apps.labeling.services import job_member_set

    person = make_user("rob_reviewer")
    job_member_set(job=job, user=person, role=Role.REVIEWER)
    return person


def assign(client: Any, job: Any, **body: Any) -> Any:
    response = client.post(f"/api/jobs/{job.pk}/assignments/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def seats_stored() -> dict[int, tuple[int | None, int | None]]:
    from apps.review.models import Assignment

    return {
        row[0]: row[1:] for row in Assignment.objects.values_list("item_id", "annotator_id", "reviewer_id")
    }


def shown(frames: list[dict[str, Any]]) -> dict[int, tuple[int | None, int | None]]:
    """The seats a job page shows after applying its assignments frames in the order they came."""
    seats: dict[int, tuple[int | None, int | None]] = {}
    for frame in frames:
        for row in frame["items"]:
            seats[row["id"]] = (row["assignee"], row["reviewer"])
    return seats


async def assignments_frames(peer: Peer, changed: int) -> list[dict[str, Any]]:
    """The page's assignments frames until they add up to `changed` seats; then whatever else comes."""
    frames = [await peer.next("assignments")]
    while sum(frame["changed"] for frame in frames) < changed:
        frames.append(await peer.next("assignments"))
    return frames + await peer.drain("assignments")


@database_sync_to_async
def asyncapi() -> dict[str, Any]:
    from rest_framework.test import APIClient

    return APIClient().get("/api/asyncapi.json").json()


# Live on the job pages --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_assigning_and_unassigning_reach_every_open_job_page_live(
    sockets: Sockets,
    job: Any,
    items: list[Any],
    manager: Any,
    annotator: Any,
    reviewer: Any,
    auditor: Any,
    client_for: Callable[[Any], Any],
) -> None:
    managers_page = await sockets.job(manager, job.pk)
    annotators_page = await sockets.job(annotator, job.pk)
    auditors_page = await sockets.job(auditor, job.pk)
    chosen = sorted([items[0].pk, items[2].pk])
    post = database_sync_to_async(assign)

    result = await post(
        client_for(manager), job, item_ids=chosen, annotator=annotator.pk, reviewer=reviewer.pk
    )
    frames = [await page.next("assignments") for page in (managers_page, annotators_page, auditors_page)]
    await post(client_for(manager), job, item_ids=[items[0].pk], annotator=None)
    unassigned = await annotators_page.next("assignments")

    first = frames[0]
    assert frames[1] == frames[2] == first
    assert first["by"] == {"id": manager.pk, "username": manager.username}
    assert (first["batch"], first["changed"]) == (result["batch"], 4)
    assert [row["id"] for row in first["items"]] == chosen
    for row in first["items"]:
        assert (row["assignee"], row["assignee_name"]) == (annotator.pk, annotator.username)
        assert (row["reviewer"], row["reviewer_name"]) == (reviewer.pk, reviewer.username)
    assert unassigned["changed"] == 1
    [row] = unassigned["items"]
    assert (row["id"], row["assignee"], row["assignee_name"]) == (items[0].pk, None, None)
    assert (row["reviewer"], row["reviewer_name"]) == (reviewer.pk, reviewer.username)
    assert row["change"] > first["items"][0]["change"]
    _check(await asyncapi(), [first, unassigned], "job", "Server")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_assigning_what_is_already_so_sends_no_frame(
    sockets: Sockets,
    job: Any,
    items: list[Any],
    manager: Any,
    annotator: Any,
    client_for: Callable[[Any], Any],
) -> None:
    page = await sockets.job(manager, job.pk)
    post = database_sync_to_async(assign)
    await post(client_for(manager), job, item_ids=[items[0].pk], annotator=annotator.pk)
    await page.next("assignments")

    again = await post(client_for(manager), job, item_ids=[items[0].pk], annotator=annotator.pk)

    assert again["changed"] == 0
    assert await page.drain("assignments") == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_split_too_large_for_one_frame_tells_the_pages_to_read_their_list_again(
    sockets: Sockets,
    job: Any,
    items: list[Any],
    manager: Any,
    annotator: Any,
    annotator2: Any,
    client_for: Callable[[Any], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from apps.review import assignments

    monkeypatch.setattr(assignments, "FRAME_ITEMS", 2)
    page = await sockets.job(annotator, job.pk)

    def split() -> Any:
        body = {"annotators": [annotator.pk, annotator2.pk]}
        return client_for(manager).post(f"/api/jobs/{job.pk}/assignments/split/", body, format="json")

    response = await database_sync_to_async(split)()
    frame = await page.next("assignments")

    assert response.status_code == 200 and response.json()["items"] == 3
    assert (frame["changed"], frame["items"]) == (3, None)
    _check(await asyncapi(), [frame], "job", "Server")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_page_is_never_sent_seats_older_than_those_it_has(
    sockets: Sockets, job: Any, items: list[Any], manager: Any, annotator: Any, annotator2: Any
) -> None:
    """Two managers' frames can pass each other on the way: the socket sends an image's row only when it
    is newer (a higher record id) than the last it sent, or than the last frame that had the page read its
    list again, so the page ends at the last write."""
    page = await sockets.job(manager, job.pk)

    def frame(change: int, assignee: Any, batch: str, item: Any = items[0]) -> dict[str, Any]:
        row = {"id": item.pk, "assignee": assignee.pk, "assignee_name": assignee.username}
        row |= {"reviewer": None, "reviewer_name": None, "change": change}
        return {"by": None, "batch": batch, "changed": 1, "change": change, "items": [row]}

    publish = database_sync_to_async(live.assignments_publish)
    await publish(job.pk, frame(8, annotator2, "later"))
    await publish(job.pk, frame(7, annotator, "earlier"))
    await publish(job.pk, frame(9, annotator, "last"))
    # A split too large to name its images (the page reads its list again: every change up to 20 is in
    # it); a frame of another image made before it, arriving after it, is stale too.
    await publish(job.pk, {"by": None, "batch": "split", "changed": 600, "change": 20, "items": None})
    await publish(job.pk, frame(15, annotator, "before the split", items[1]))
    await publish(job.pk, frame(21, annotator, "after the split", items[1]))

    assert [f["batch"] for f in await page.drain("assignments")] == [
        "later",
        "last",
        "split",
        "after the split",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_two_managers_assigning_the_same_images_at_once_leave_the_last_write_recorded_and_shown(
    sockets: Sockets,
    job: Any,
    items: list[Any],
    manager: Any,
    manager2: Any,
    annotator: Any,
    annotator2: Any,
    client_for: Callable[[Any], Any],
) -> None:
    pages = [await sockets.job(manager, job.pk), await sockets.job(manager2, job.pk)]
    chosen = sorted(item.pk for item in items)
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def assigning(who: Any, to: Any) -> None:
        try:
            client = client_for(who)
            start.wait(timeout=JOIN)
            results[who.username] = assign(client, job, item_ids=chosen, annotator=to.pk)
        finally:
            connection.close()

    # In threads of their own, while the loop goes on: the pages' sockets (and, on the embedded default,
    # the in-memory channel layer the frames go through) run on it.
    both = asyncio.gather(
        asyncio.to_thread(assigning, manager, annotator), asyncio.to_thread(assigning, manager2, annotator2)
    )
    await asyncio.wait_for(both, JOIN)
    assert len(results) == 2, results

    def record() -> list[tuple[str, int, int | None, int | None]]:
        from apps.review.models import AssignmentChange

        rows = AssignmentChange.objects.order_by("id").values_list(
            "batch", "item_id", "previous_id", "assignee_id"
        )
        return [(str(batch), item, before, after) for batch, item, before, after in rows]

    changes = await database_sync_to_async(record)()
    final = await database_sync_to_async(seats_stored)()
    last_batch = changes[-1][0]
    first_batch = changes[0][0]
    winner = annotator if results[manager.username]["batch"] == last_batch else annotator2
    loser = annotator2 if winner is annotator else annotator

    # Last write wins, whole: every image has the later request's annotator.
    assert final == {pk: (winner.pk, None) for pk in chosen}
    # Both changes are recorded, in the order they were made, each from the seat before it.
    assert {batch for batch, *_ in changes} == {
        results[manager.username]["batch"],
        results[manager2.username]["batch"],
    }
    assert [row[1:] for row in changes if row[0] == first_batch] == [(pk, None, loser.pk) for pk in chosen]
    assert [row[1:] for row in changes if row[0] == last_batch] == [
        (pk, loser.pk, winner.pk) for pk in chosen
    ]
    # Both pages show the final state.
    for page in pages:
        assert shown(await assignments_frames(page, 2 * len(chosen))) == final


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["assign", "split"])
def test_a_member_removed_while_an_assignment_checks_them_waits_for_it_and_is_never_seated_after(
    how: str, job: Any, items: list[Any], manager: Any, annotator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The annotator's membership is removed, on another connection, just after the assignment checked
    it: the removal must wait for the assignment to commit (the member's row is held from the check to
    the write), not end first and leave a seat given to someone who was no longer a member when it was
    written. Without the hold the removal commits at once and the seat is written after it."""
    from apps.labeling.models import JobMember
    from apps.labeling.services import job_member_remove
    from apps.review import assignments
    from apps.review.models import AssignmentChange

    member = JobMember.objects.get(job=job, user=annotator)
    removal: list[OnItsOwnConnection] = []
    removal_waited: list[bool] = []
    real_check = assignments.seat_holder_check

    def check_then_remove(*args: Any, **kwargs: Any) -> None:
        real_check(*args, **kwargs)
        if not removal:
            removal.append(OnItsOwnConnection(lambda: job_member_remove(member=member)))
            removal[0].until_it_waits_on_a_lock()
            removal_waited.append(removal[0].is_alive())

    monkeypatch.setattr(assignments, "seat_holder_check", check_then_remove)
    chosen = [item.pk for item in items]
    if how == "assign":
        result = assignments.assign(job=job, by=manager, items=chosen, annotator=annotator.pk)
        written = result.changed
    else:
        every = job.items.all()
        written = assignments.split_evenly(job=job, by=manager, items=every, annotators=[annotator.pk])[
            "changed"
        ]
    removal[0].join(JOIN)

    assert removal[0].failures == []
    assert removal_waited == [True]
    assert written == len(chosen) == AssignmentChange.objects.filter(assignee=annotator).count()
    assert not JobMember.objects.filter(pk=member.pk).exists()  # the removal came after, as it waited


@pytest.mark.parametrize("how", ["assign", "split"])
@pytest.mark.parametrize("change", ["demoted", "removed"])
def test_a_manager_demoted_after_the_views_check_assigns_nothing(
    how: str,
    change: str,
    job: Any,
    items: list[Any],
    manager: Any,
    manager2: Any,
    annotator: Any,
    client_for: Callable[[Any], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The view checks the manager's role, then (before the assignment's transaction) another manager
    demotes them to annotator or removes them: the assignment re-checks the actor inside its transaction
    and refuses as the view would have (403 permission_denied, 404 once not a member), writing nothing.
    Without the re-check the seats were written by someone who no longer managed the job."""
    from apps.labeling.models import JobMember, Role
    from apps.labeling.services import job_member_remove, job_member_set
    from apps.review import api
    from apps.review.models import Assignment, AssignmentChange

    real_job_for = api.job_for

    def check_then_demote(*args: Any, **kwargs: Any) -> Any:
        found = real_job_for(*args, **kwargs)
        if change == "demoted":
            job_member_set(job=job, user=manager2, role=Role.ANNOTATOR)
        else:
            job_member_remove(member=JobMember.objects.get(job=job, user=manager2))
        return found

    monkeypatch.setattr(api, "job_for", check_then_demote)
    client = client_for(manager2)
    if how == "assign":
        url, body = f"/api/jobs/{job.pk}/assignments/", {"item_ids": [items[0].pk], "annotator": annotator.pk}
    else:
        url, body = f"/api/jobs/{job.pk}/assignments/split/", {"annotators": [annotator.pk]}
    response = client.post(url, body, format="json")

    expected = (403, "permission_denied") if change == "demoted" else (404, "not_found")
    assert (response.status_code, response.json()["code"]) == expected
    assert not Assignment.objects.exists()
    assert not AssignmentChange.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_demotion_that_comes_while_an_assignment_runs_waits_for_it(
    job: Any, items: list[Any], manager: Any, manager2: Any, annotator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The assigning manager is demoted, on another connection, just after the assignment checked them:
    the demotion waits for the assignment to commit (the actor's member row is held from the check to the
    write, as the assignees' are), so the seats were written while they still managed the job. Without
    the hold the demotion commits at once, in the middle of an assignment it should have come after."""
    from apps.labeling.models import JobMember, Role
    from apps.labeling.services import job_member_set
    from apps.review import assignments
    from apps.review.models import AssignmentChange

    demotion: list[OnItsOwnConnection] = []
    demotion_waited: list[bool] = []
    real_check = assignments.actor_manages_check

    def check_then_demote(*args: Any, **kwargs: Any) -> None:
        real_check(*args, **kwargs)
        demotion.append(
            OnItsOwnConnection(lambda: job_member_set(job=job, user=manager2, role=Role.ANNOTATOR))
        )
        demotion[0].until_it_waits_on_a_lock()
        demotion_waited.append(demotion[0].is_alive())

    monkeypatch.setattr(assignments, "actor_manages_check", check_then_demote)
    result = assignments.assign(job=job, by=manager2, items=[items[0].pk], annotator=annotator.pk)
    demotion[0].join(JOIN)

    assert demotion[0].failures == []
    assert demotion_waited == [True]
    assert result.changed == 1 == AssignmentChange.objects.filter(changed_by=manager2).count()
    assert JobMember.objects.get(job=job, user=manager2).role == Role.ANNOTATOR


# Members who leave, or whose role no longer does the work ---------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_removing_a_member_releases_their_seats_records_it_and_tells_the_job_pages(
    sockets: Sockets,
    job: Any,
    items: list[Any],
    manager: Any,
    annotator: Any,
    annotator2: Any,
    reviewer: Any,
    client_for: Callable[[Any], Any],
) -> None:
    """Every image is assigned to ann; ann is removed from the job. Their seats go to nobody in the same
    transaction (recorded as changed by the manager who removed them, one batch), the job's pages get an
    assignments frame saying so, and "Start labeling" offers those images to bob at once; before, they
    stayed "assigned to someone else" and bob was told there was nothing to do."""
    from apps.labeling.models import JobMember
    from apps.review.models import AssignmentChange

    chosen = sorted(item.pk for item in items)
    await database_sync_to_async(assign)(
        client_for(manager), job, item_ids=chosen, annotator=annotator.pk, reviewer=reviewer.pk
    )
    page = await sockets.job(manager, job.pk)
    member = await database_sync_to_async(JobMember.objects.get)(job=job, user=annotator)

    def remove() -> int:
        return client_for(manager).delete(f"/api/jobs/{job.pk}/members/{member.pk}/").status_code

    assert await database_sync_to_async(remove)() == 204
    frame = await page.next("assignments")

    assert frame["by"] == {"id": manager.pk, "username": manager.username}
    assert frame["changed"] == len(chosen)
    assert shown([frame]) == {pk: (None, reviewer.pk) for pk in chosen}
    _check(await asyncapi(), [frame], "job", "Server")

    def after() -> tuple[Any, ...]:
        released = AssignmentChange.objects.filter(batch=frame["batch"])
        record = sorted(
            released.values_list("item_id", "role", "previous_id", "assignee_id", "changed_by_id")
        )
        offered = client_for(annotator2).get(f"/api/jobs/{job.pk}/next/", {"for": "label"})
        return seats_stored(), record, offered.status_code, offered.json()

    stored, record, status, offered = await database_sync_to_async(after)()
    assert stored == {pk: (None, reviewer.pk) for pk in chosen}
    assert record == [(pk, "annotator", annotator.pk, None, manager.pk) for pk in chosen]
    assert (status, offered["item"], offered["assigned_to_me"]) == (200, chosen[0], False)


@pytest.mark.parametrize(
    ("role", "kept"),
    [
        ("annotator", ("annotator",)),
        ("reviewer", ("reviewer",)),
        ("auditor", ()),
        ("manager", ("annotator", "reviewer")),
    ],
)
def test_a_role_change_releases_the_seats_the_new_role_does_not_hold(
    role: str,
    kept: tuple[str, ...],
    job: Any,
    items: list[Any],
    manager: Any,
    manager2: Any,
    client_for: Callable[[Any], Any],
) -> None:
    """A manager holds both seats of an image (managers label and review); their role changes: a seat the
    new role cannot hold (an annotator reviews nothing, a reviewer labels nothing, an auditor neither)
    goes to nobody, recorded; the seat it can hold stays theirs."""
    from apps.review.models import AssignmentChange

    assign(client_for(manager), job, item_ids=[items[0].pk], annotator=manager2.pk, reviewer=manager2.pk)
    before = AssignmentChange.objects.count()

    response = client_for(manager).post(
        f"/api/jobs/{job.pk}/members/", {"username": manager2.username, "role": role}, format="json"
    )

    assert response.status_code == 200
    expected = tuple(manager2.pk if seat in kept else None for seat in ("annotator", "reviewer"))
    assert seats_stored() == {items[0].pk: expected}
    released = list(AssignmentChange.objects.order_by("-id")[: AssignmentChange.objects.count() - before])
    assert len(released) == 2 - len(kept)
    assert sorted(row.role for row in released) == sorted({"annotator", "reviewer"} - set(kept))
    assert all(row.changed_by_id == manager.pk and row.assignee_id is None for row in released)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_removal_that_comes_while_an_assignment_writes_waits_and_then_releases_the_new_seats(
    job: Any, items: list[Any], manager: Any, annotator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The annotator is removed, on another connection, while an assignment to them is being written: the
    removal waits for the job's row (taken first by both, as assign() takes it), then releases the seats
    the assignment just wrote. Neither order leaves a seat with someone who is not a member."""
    from apps.labeling.models import JobMember
    from apps.labeling.services import job_member_remove
    from apps.review import assignments

    member = JobMember.objects.get(job=job, user=annotator)
    removal: list[OnItsOwnConnection] = []
    waited: list[bool] = []
    real_write = assignments._write

    def write_while_removed(*args: Any, **kwargs: Any) -> int:
        if not removal:
            removal.append(OnItsOwnConnection(lambda: job_member_remove(member=member, by=manager)))
            removal[0].until_it_waits_on_a_lock()
            waited.append(removal[0].is_alive())
        return real_write(*args, **kwargs)

    monkeypatch.setattr(assignments, "_write", write_while_removed)
    assignments.assign(job=job, by=manager, items=[item.pk for item in items], annotator=annotator.pk)
    removal[0].join(JOIN)

    assert removal[0].failures == []
    assert waited == [True]
    assert not JobMember.objects.filter(pk=member.pk).exists()
    assert seats_stored() == {item.pk: (None, None) for item in items}


# Two people pressing Start at once ----------------------------------------------------------------------


def next_for(user: Any, job: Any, work: str = "review", join: bool = False) -> dict[str, Any]:
    from apps.review import assignments

    return assignments.next_item(job=job, user=user, work=work, join=join)


@pytest.fixture
def to_review(job: Any, items: list[Any], labels: dict[str, Any], annotator: Any) -> list[Any]:
    """Every image of the job labeled and saved: all three wait for review, in id order."""
    for item in items:
        polygon_saved(item, annotator, labels["cat"])
    return sorted(items, key=lambda item: item.pk)


def polygon_saved(item: Any, actor: Any, label: Any) -> None:
    """`actor` draws a polygon of `label` on `item` and saves: the image then waits for review."""
    from apps.labeling.domain import parse_command
    from apps.labeling.services import item_command_handle

    for command in (
        {"type": "add_polygon", "shape_id": new_id(), "label_class_id": label.pk, "points": square(2, 2, 20)},
        {"type": "save"},
    ):
        item_command_handle(item_id=item.pk, actor_id=actor.pk, command=parse_command(command))


@pytest.mark.django_db
def test_start_review_holds_the_image_it_gives_so_the_next_reviewer_gets_another(
    job: Any, to_review: list[Any], reviewer: Any, reviewer2: Any
) -> None:
    first, second, _ = to_review

    mine = next_for(reviewer, job)
    again = next_for(reviewer, job)
    theirs = next_for(reviewer2, job)
    joined = next_for(reviewer2, job, join=True)

    assert mine["item"] == again["item"] == first.pk  # my own claim does not keep me from my image
    assert theirs["item"] == second.pk
    assert (joined["item"], joined["others_on_it"]) == (
        first.pk,
        [{"id": reviewer.pk, "username": reviewer.username}],
    )


@pytest.mark.django_db
def test_a_claim_lapses_unless_its_holder_opens_the_image(
    job: Any, to_review: list[Any], reviewer: Any, reviewer2: Any
) -> None:
    from apps.review import assignments
    from apps.review.models import NextClaim

    first = to_review[0]
    assert next_for(reviewer, job)["item"] == first.pk
    lapsed = assignments.CLAIM_SECONDS + 1
    NextClaim.objects.update(claimed_at=NextClaim.objects.get().claimed_at - timedelta(seconds=lapsed))

    assert next_for(reviewer2, job)["item"] == first.pk


@pytest.mark.django_db
def test_an_answer_of_nothing_to_do_ends_the_askers_claim(
    job: Any, to_review: list[Any], manager: Any, reviewer: Any, reviewer2: Any
) -> None:
    from apps.common.errors import ApiError
    from apps.labeling.domain import parse_command
    from apps.labeling.services import item_command_handle
    from apps.review import assignments
    from apps.review.models import NextClaim

    first, *others = to_review
    assignments.assign(job=job, by=manager, items=[item.pk for item in others], reviewer=reviewer2.pk)
    assert next_for(reviewer, job)["item"] == first.pk
    item_command_handle(
        item_id=first.pk, actor_id=reviewer.pk, command=parse_command({"type": "accept_review"})
    )

    with pytest.raises(ApiError) as nothing:
        next_for(reviewer, job)

    assert nothing.value.code == "nothing_to_do"
    assert not NextClaim.objects.filter(user=reviewer).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_opening_the_image_turns_the_claim_into_presence_and_leaving_frees_it(
    sockets: Sockets, job: Any, to_review: list[Any], reviewer: Any, reviewer2: Any
) -> None:
    from apps.review.models import NextClaim

    first = to_review[0]
    ask = database_sync_to_async(next_for)
    assert (await ask(reviewer, job))["item"] == first.pk

    page = await sockets.item(reviewer, first.pk)
    claims_while_open = await database_sync_to_async(NextClaim.objects.count)()
    while_open = await ask(reviewer2, job)
    await page.close()
    after = await ask(reviewer2, job)

    assert claims_while_open == 0
    assert while_open["item"] != first.pk
    assert after["item"] == first.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_pressing_start_review_at_the_same_moment_get_different_images(
    job: Any, to_review: list[Any], reviewer: Any, reviewer2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first reviewer's request is held after it found its image and before it commits; the second
    one's then runs. It must wait for the first (and then see its claim), not take the same image."""
    from apps.review import assignments

    found_it, go_on = threading.Event(), threading.Event()
    second_pid: list[int] = []
    second_done = threading.Event()
    answers: dict[str, Any] = {}
    real_found = assignments._next_found

    def found_then_held(**kwargs: Any) -> dict[str, Any]:
        found = real_found(**kwargs)
        if kwargs["user"].pk == reviewer.pk:
            found_it.set()
            assert go_on.wait(JOIN)
        return found

    monkeypatch.setattr(assignments, "_next_found", found_then_held)

    def first() -> None:
        try:
            answers["first"] = next_for(reviewer, job)
        finally:
            connection.close()

    def second() -> None:
        try:
            connection.ensure_connection()
            second_pid.append(connection.connection.info.backend_pid)
            answers["second"] = next_for(reviewer2, job)
        finally:
            second_done.set()
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert found_it.wait(JOIN)
    two = threading.Thread(target=second)
    two.start()
    # Wait until the second request either finished (it did not wait its turn) or waits on a lock.
    for _ in range(int(JOIN / 0.01)):
        if second_done.is_set() or (second_pid and waits_on_a_lock(second_pid[0])):
            break
        second_done.wait(0.01)
    go_on.set()
    one.join(JOIN)
    two.join(JOIN)

    assert answers["first"]["item"] == to_review[0].pk
    assert answers["second"]["item"] == to_review[1].pk


# Start asked by someone whose membership changes meanwhile ------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("removed", (404, "not_found")),
        ("demoted", (403, "permission_denied")),
        ("deactivated", (404, "not_found")),
    ],
)
def test_start_labeling_by_a_member_removed_after_the_views_check_holds_and_gives_nothing(
    change: str,
    expected: tuple[int, str],
    job: Any,
    items: list[Any],
    manager: Any,
    annotator: Any,
    client_for: Callable[[Any], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ann pressed Start labeling before; the view checks them again, then (before next's transaction)
    they are removed, made reviewer or their account is deactivated. next checks them again inside its
    transaction and answers as the view would have (404 once no member, 403 for a role that does not
    label), holding nothing. Without that check they were sent to an image and held it for a minute."""
    from apps.labeling.models import JobMember, Role
    from apps.labeling.services import job_member_remove, job_member_set
    from apps.review import api
    from apps.review.models import NextClaim

    next_for(annotator, job, "label")
    real_job_for = api.job_for

    def check_then_change(*args: Any, **kwargs: Any) -> Any:
        found = real_job_for(*args, **kwargs)
        if change == "removed":
            job_member_remove(member=JobMember.objects.get(job=job, user=annotator), by=manager)
        elif change == "demoted":
            job_member_set(job=job, user=annotator, role=Role.REVIEWER, by=manager)
        else:
            stored = type(annotator).objects.get(pk=annotator.pk)
            stored.is_active = False
            stored.save()
        return found

    monkeypatch.setattr(api, "job_for", check_then_change)
    response = client_for(annotator).get(f"/api/jobs/{job.pk}/next/", {"for": "label"})

    assert (response.status_code, response.json()["code"]) == expected
    assert not NextClaim.objects.filter(user=annotator).exists()


@pytest.mark.parametrize(
    ("before", "work", "after", "let_go"),
    [
        ("annotator", "label", "reviewer", True),
        ("annotator", "label", "auditor", True),
        ("reviewer", "review", "annotator", True),
        ("manager", "review", "annotator", True),
        ("manager", "label", "reviewer", True),
        ("annotator", "label", "manager", False),
        ("reviewer", "review", "manager", False),
    ],
)
def test_a_role_change_that_takes_away_a_kind_of_work_lets_the_image_next_held_go(
    before: str,
    work: str,
    after: str,
    let_go: bool,
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    manager: Any,
    annotator2: Any,
    make_user: Callable[..., Any],
) -> None:
    """Someone pressed Start (labeling or review) and holds the image it gave; their role changes. A
    claim does not say for which work it was made, so a new role that lost a kind of work (an annotator
    made reviewer, a manager made annotator) lets it go, and the image is offered to the others at once;
    one that lost none (made manager) keeps it. Before, only a removal let it go: an annotator made
    reviewer kept an image to label from the annotators for a minute."""
    from apps.labeling.services import job_member_set
    from apps.review.models import NextClaim

    polygon_saved(items[0], annotator2, labels["cat"])  # one image waits for review, the others for labeling
    person = make_user("pat_person")
    job_member_set(job=job, user=person, role=before)
    held = next_for(person, job, work)["item"]

    job_member_set(job=job, user=person, role=after, by=manager)

    assert NextClaim.objects.filter(user=person, item_id=held).exists() is not let_go


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pressed_before", [False, True])
def test_start_pressed_while_a_removal_holds_the_job_waits_for_it_and_holds_nothing(
    pressed_before: bool, job: Any, items: list[Any], manager: Any, annotator: Any
) -> None:
    """ann is being removed on another connection (the job's row held, their membership and claim
    deleted, not yet committed) when their Start labeling asks, on its own connection: next must wait
    for the removal (a first claim's foreign key waits for the job's row; a claim ann held before is the
    row the removal deleted) and then answer 404, holding nothing. Without the check after the claim,
    next wrote its claim once the removal committed, for someone no longer a member."""
    from apps.common.errors import ApiError
    from apps.labeling.models import JobMember
    from apps.labeling.services import job_member_remove
    from apps.review.models import NextClaim

    if pressed_before:
        next_for(annotator, job, "label")
    member = JobMember.objects.get(job=job, user=annotator)
    removed, go_on = threading.Event(), threading.Event()

    def remove_and_hold() -> None:
        with transaction.atomic():
            job_member_remove(member=member, by=manager)
            removed.set()
            assert go_on.wait(JOIN)

    removal = OnItsOwnConnection(remove_and_hold)
    assert removed.wait(JOIN)
    asking = OnItsOwnConnection(lambda: next_for(annotator, job, "label"))
    asking.until_it_waits_on_a_lock()
    waited = asking.is_alive()
    go_on.set()
    removal.join(JOIN)
    asking.join(JOIN)

    assert removal.failures == []
    assert waited
    assert [(type(error), getattr(error, "code", None)) for error in asking.failures] == [
        (ApiError, "not_found")
    ]
    assert not NextClaim.objects.filter(user=annotator).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pressed_before", [False, True])
def test_a_removal_that_comes_after_starts_check_waits_for_it_and_lets_the_claim_go(
    pressed_before: bool,
    job: Any,
    items: list[Any],
    manager: Any,
    annotator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other order: next has written ann's claim and checked them, and ann's removal starts on
    another connection before next commits. The removal waits (for the job's row, which a first
    claim's foreign key holds in KEY SHARE, or for the claim's row that next moved), then lets the claim
    go: no deadlock, and nothing is left held for someone no longer a member."""
    from apps.labeling.models import JobMember
    from apps.labeling.services import job_member_remove
    from apps.review import assignments
    from apps.review.models import NextClaim

    if pressed_before:
        next_for(annotator, job, "label")
    member = JobMember.objects.get(job=job, user=annotator)
    removal: list[OnItsOwnConnection] = []
    waited: list[bool] = []
    real_role_now = assignments.job_role_now

    def checked_then_removed(*args: Any, **kwargs: Any) -> Any:
        role = real_role_now(*args, **kwargs)
        removal.append(OnItsOwnConnection(lambda: job_member_remove(member=member, by=manager)))
        removal[0].until_it_waits_on_a_lock()
        waited.append(removal[0].is_alive())
        return role

    monkeypatch.setattr(assignments, "job_role_now", checked_then_removed)
    given = next_for(annotator, job, "label")
    removal[0].join(JOIN)

    assert removal[0].failures == []
    assert waited == [True]
    assert given["item"] == min(item.pk for item in items)
    assert not JobMember.objects.filter(pk=member.pk).exists()
    assert not NextClaim.objects.filter(user=annotator).exists()
