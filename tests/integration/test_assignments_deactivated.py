"""A deactivated account gives up its seats (docs/review.md, "Assignments"): unchecking "Active" on a
user in Django admin, as a site admin takes someone off all work, empties every seat they hold in every
job, recorded as a removal's, with the job pages' `assignments` frame; a deactivated member is not
assigned again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async

from tests.db_locks import JOIN, OnItsOwnConnection
from tests.integration.test_assignments_together import asyncapi, seats_stored, shown
from tests.integration.test_asyncapi import _check
from tests.integration.test_ws_support import Sockets


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture
def job2(dataset: Any, manager: Any, annotator: Any, annotator2: Any) -> Any:
    """A second job on the same dataset, ann and bob its annotators."""
    from apps.labeling.models import Role
    from apps.labeling.services import job_create, job_member_set

    other = job_create(name="Pets, second pass", dataset=dataset, created_by=manager, label_classes=[])
    for person in (annotator, annotator2):
        job_member_set(job=other, user=person, role=Role.ANNOTATOR)
    return other


def assign_all(job: Any, manager: Any, annotator: Any) -> list[int]:
    from apps.review.assignments import assign

    chosen = sorted(job.items.values_list("pk", flat=True))
    assign(job=job, by=manager, items=chosen, annotator=annotator.pk)
    return chosen


def deactivate(user: Any) -> None:
    user.is_active = False
    user.save()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_deactivating_an_account_empties_their_seats_in_every_job_and_tells_the_job_pages(
    sockets: Sockets,
    job: Any,
    job2: Any,
    items: list[Any],
    manager: Any,
    annotator: Any,
    annotator2: Any,
    client_for: Callable[[Any], Any],
) -> None:
    """ann holds the annotator seat of every image of two jobs, and "Start labeling" holds an image for
    them; their account is deactivated (a script's save: who did it is not known). In both jobs the
    seats go to nobody, recorded (changed by nobody), the job page gets the assignments frame, the held
    image is let go and bob is offered ann's images; ann stays a member of both jobs."""
    from apps.labeling.models import JobMember
    from apps.review.assignments import next_item
    from apps.review.models import AssignmentChange, NextClaim

    def given() -> tuple[list[int], list[int]]:
        first, second = assign_all(job, manager, annotator), assign_all(job2, manager, annotator)
        next_item(job=job, user=annotator, work="label", join=False)
        return first, second

    first, second = await database_sync_to_async(given)()
    page = await sockets.job(manager, job.pk)

    await database_sync_to_async(deactivate)(annotator)
    frame = await page.next("assignments")

    assert frame["by"] is None
    assert frame["changed"] == len(first)
    assert shown([frame]) == {pk: (None, None) for pk in first}
    _check(await asyncapi(), [frame], "job", "Server")

    def after() -> tuple[Any, ...]:
        record = sorted(
            AssignmentChange.objects.filter(previous_id=annotator.pk, assignee_id=None).values_list(
                "job_id", "item_id", "role", "changed_by_id"
            )
        )
        offered = client_for(annotator2).get(f"/api/jobs/{job.pk}/next/", {"for": "label"}).json()
        memberships = JobMember.objects.filter(user=annotator).count()
        claims = NextClaim.objects.filter(user=annotator).count()
        return seats_stored(), record, offered, memberships, claims

    stored, record, offered, memberships, claims = await database_sync_to_async(after)()
    assert stored == {pk: (None, None) for pk in first + second}
    assert record == sorted(
        [(job.pk, pk, "annotator", None) for pk in first]
        + [(job2.pk, pk, "annotator", None) for pk in second]
    )
    assert (offered["item"], offered["assigned_to_me"]) == (first[0], False)
    assert (memberships, claims) == (2, 0)


def test_deactivating_in_admin_records_the_admin_user_as_who_emptied_the_seats(
    admin_client: Any, admin_user: Any, job: Any, items: list[Any], manager: Any, annotator: Any
) -> None:
    """Admin's user page, "Active" unchecked: the seats are emptied in the save's transaction, recorded as
    changed by the admin user, as a removal is by who removed."""
    from apps.review.models import AssignmentChange

    chosen = assign_all(job, manager, annotator)
    form = {
        "username": annotator.username,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "_save": "Save",
    }  # "is_active" left out: the box unchecked

    response = admin_client.post(f"/admin/auth/user/{annotator.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    annotator.refresh_from_db()
    assert annotator.is_active is False
    assert seats_stored() == {pk: (None, None) for pk in chosen}
    record = AssignmentChange.objects.filter(previous_id=annotator.pk, assignee_id=None)
    assert sorted(record.values_list("item_id", "changed_by_id")) == [(pk, admin_user.pk) for pk in chosen]


def test_a_deactivated_member_is_not_assigned(
    job: Any, items: list[Any], manager: Any, annotator: Any, client_for: Callable[[Any], Any]
) -> None:
    deactivate(annotator)

    response = client_for(manager).post(
        f"/api/jobs/{job.pk}/assignments/",
        {"item_ids": [items[0].pk], "annotator": annotator.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_assignee"
    assert "is not a member of this job (or their account is deactivated)" in response.json()["message"]
    assert seats_stored().get(items[0].pk, (None, None)) == (None, None)


def test_saves_that_do_not_deactivate_leave_the_seats(
    job: Any, items: list[Any], manager: Any, annotator: Any, annotator2: Any
) -> None:
    """A login's stamp, a changed e-mail, an account made active again: seats kept, nothing recorded.
    Saving an account that is already deactivated records nothing more."""
    from django.utils import timezone

    from apps.review.models import AssignmentChange

    chosen = assign_all(job, manager, annotator)
    annotator.last_login = timezone.now()
    annotator.save(update_fields=["last_login"])
    annotator.email = "ann@example.org"
    annotator.save()
    assert seats_stored() == {pk: (annotator.pk, None) for pk in chosen}

    deactivate(annotator2)
    recorded = AssignmentChange.objects.count()
    annotator2.first_name = "Bob"
    annotator2.save()
    annotator2.is_active = True
    annotator2.save()

    assert AssignmentChange.objects.count() == recorded
    assert seats_stored() == {pk: (annotator.pk, None) for pk in chosen}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_deactivation_that_comes_while_an_assignment_writes_waits_and_then_empties_the_new_seats(
    job: Any, items: list[Any], manager: Any, annotator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ann's account is deactivated, on another connection, while an assignment to them (checked when
    they were still active) is being written: the deactivation waits for the job's row, then empties
    the seats the assignment just wrote."""
    from django.contrib.auth import get_user_model

    from apps.review import assignments

    deactivation: list[OnItsOwnConnection] = []
    waited: list[bool] = []
    real_write = assignments._write

    def write_while_deactivated(*args: Any, **kwargs: Any) -> int:
        if not deactivation:
            person = get_user_model().objects.get(pk=annotator.pk)
            deactivation.append(OnItsOwnConnection(lambda: deactivate(person)))
            deactivation[0].until_it_waits_on_a_lock()
            waited.append(deactivation[0].is_alive())
        return real_write(*args, **kwargs)

    monkeypatch.setattr(assignments, "_write", write_while_deactivated)
    assignments.assign(job=job, by=manager, items=[item.pk for item in items], annotator=annotator.pk)
    deactivation[0].join(JOIN)

    assert deactivation[0].failures == []
    assert waited == [True]
    assert seats_stored() == {item.pk: (None, None) for item in items}
