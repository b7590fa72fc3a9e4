"""Assignments (issue 24, point 4): a manager gives images an annotator and a reviewer (chosen, filtered,
or the unlabeled split evenly), every change is recorded, the items list shows and filters them, and
`next` hands each person the image to work on, passing over images someone else has open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async

from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db


def assign(client: Any, job: Any, **body: Any) -> Any:
    return client.post(f"/api/jobs/{job.pk}/assignments/", body, format="json")


def listing(client: Any, job: Any, **query: Any) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job.pk}/items/", {"page_size": 500, **query})
    assert response.status_code == 200, response.json()
    return response.json()


def ids(page: dict[str, Any]) -> list[int]:
    return sorted(row["id"] for row in page["results"])


def history(client: Any, job: Any, **query: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/jobs/{job.pk}/assignments/history/", {"page_size": 500, **query})
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def next_for(client: Any, job: Any, **query: Any) -> Any:
    return client.get(
        f"/api/jobs/{job.pk}/next/",
        {k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items()},
    )


def stored() -> list[tuple[int, int | None, int | None]]:
    from apps.review.models import Assignment

    return sorted(Assignment.objects.values_list("item_id", "annotator_id", "reviewer_id"))


def saved_label(client: Any, item: Any, label_class_id: int, add_polygon: Any, send: Any) -> None:
    add_polygon(client, item.pk, label_class_id)
    assert send(client, item.pk, {"type": "save"}).status in (200, 201)


# Assigning ----------------------------------------------------------------------------------------


def test_a_manager_assigns_chosen_images_and_the_items_list_shows_and_filters_them(
    job: Any, items: list[Any], manager: Any, annotator: Any, manager_api: Any, annotator_api: Any
) -> None:
    chosen = [items[0].pk, items[2].pk]

    response = assign(manager_api, job, item_ids=chosen, annotator=annotator.pk, reviewer=manager.pk)

    assert response.status_code == 200, response.json()
    assert response.json()["items"] == 2 and response.json()["changed"] == 4
    rows = {row["id"]: row for row in listing(manager_api, job)["results"]}
    for pk in chosen:
        assert (rows[pk]["assignee"], rows[pk]["assignee_name"]) == (annotator.pk, annotator.username)
        assert (rows[pk]["reviewer"], rows[pk]["reviewer_name"]) == (manager.pk, manager.username)
    other = rows[items[1].pk]
    assert (other["assignee"], other["assignee_name"], other["reviewer"]) == (None, None, None)
    assert ids(listing(annotator_api, job, assigned_to="me")) == sorted(chosen)
    assert ids(listing(manager_api, job, assigned_to=annotator.pk)) == sorted(chosen)
    # The manager reviews them: "me" is either seat.
    assert ids(listing(manager_api, job, assigned_to="me")) == sorted(chosen)
    assert ids(listing(manager_api, job, assigned_to="none")) == [items[1].pk]
    # The count of a filtered page is the rows', not the job's tallies.
    assert listing(annotator_api, job, assigned_to="me", status="unlabeled")["count"] == 2


def test_assigning_by_the_items_filter_takes_the_images_the_list_shows(
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    manager_api: Any,
    annotator_api: Any,
    add_polygon: Any,
    send: Any,
) -> None:
    saved_label(annotator_api, items[1], labels["cat"].pk, add_polygon, send)

    response = assign(manager_api, job, filter={"status": "unlabeled"}, annotator=annotator2.pk)

    assert response.status_code == 200, response.json()
    assert response.json()["items"] == 2
    assert stored() == sorted([(items[0].pk, annotator2.pk, None), (items[2].pk, annotator2.pk, None)])
    by_label = assign(manager_api, job, filter={"label_class": str(labels["cat"].pk)}, annotator=annotator.pk)
    assert by_label.json()["items"] == 1
    assert (items[1].pk, annotator.pk, None) in stored()


def test_unassigning_and_reassigning_are_recorded_with_who_when_and_from_whom(
    job: Any,
    items: list[Any],
    manager: Any,
    annotator: Any,
    annotator2: Any,
    manager_api: Any,
    auditor_api: Any,
) -> None:
    target = items[0].pk
    assert assign(manager_api, job, item_ids=[target], annotator=annotator.pk).status_code == 200
    assert assign(manager_api, job, item_ids=[target], annotator=annotator2.pk).status_code == 200
    again = assign(manager_api, job, item_ids=[target], annotator=annotator2.pk)
    assert again.json()["changed"] == 0  # nothing changed, nothing recorded
    assert assign(manager_api, job, item_ids=[target], annotator=None).status_code == 200

    record = history(auditor_api, job)  # every member reads the record

    assert [(r["item"], r["seat"], r["previous"], r["assignee"]) for r in record] == [
        (target, "annotator", annotator2.pk, None),
        (target, "annotator", annotator.pk, annotator2.pk),
        (target, "annotator", None, annotator.pk),
    ]
    assert {r["changed_by"] for r in record} == {manager.pk}
    assert {r["changed_by_name"] for r in record} == {manager.username}
    assert all(r["changed_at"] and r["item_name"] == items[0].image.name for r in record)
    assert len({r["batch"] for r in record}) == 3
    assert history(auditor_api, job, item=items[1].pk) == []
    assert len(history(auditor_api, job, item=target)) == 3
    assert stored() == [(target, None, None)]


def test_a_seat_left_out_of_the_request_stays_as_it_was(
    job: Any, items: list[Any], manager: Any, annotator: Any, manager_api: Any
) -> None:
    assign(manager_api, job, item_ids=[items[0].pk], annotator=annotator.pk)

    assign(manager_api, job, item_ids=[items[0].pk], reviewer=manager.pk)

    assert stored() == [(items[0].pk, annotator.pk, manager.pk)]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"annotator": 1}, "invalid_request"),  # neither ids nor a filter
        ({"item_ids": [1], "filter": {}, "annotator": 1}, "invalid_request"),  # both
        ({"item_ids": []}, "invalid_request"),
        ({"item_ids": ["x"], "annotator": 1}, "invalid_request"),
        ({"filter": {"status": "nonsense"}, "annotator": 1}, "invalid_request"),
        ({"filter": {"assigned_to": "someone"}, "annotator": 1}, "invalid_request"),
        ({"filter": {}}, "invalid_request"),  # no seat named
        ({"filter": {}, "annotator": "abc"}, "invalid_request"),
    ],
)
def test_malformed_assignments_are_refused_and_change_nothing(
    job: Any, items: list[Any], manager_api: Any, body: dict[str, Any], code: str
) -> None:
    response = assign(manager_api, job, **body)

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code and response.json()["message"]
    assert stored() == [] and history(manager_api, job) == []


def test_a_seat_goes_only_to_a_member_who_does_that_work(
    job: Any, items: list[Any], auditor: Any, outsider: Any, annotator: Any, manager_api: Any
) -> None:
    not_member = assign(manager_api, job, item_ids=[items[0].pk], annotator=outsider.pk)
    auditor_labels = assign(manager_api, job, item_ids=[items[0].pk], annotator=auditor.pk)
    annotator_reviews = assign(manager_api, job, item_ids=[items[0].pk], reviewer=annotator.pk)

    for response in (not_member, auditor_labels, annotator_reviews):
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_assignee"
    assert "not a member" in not_member.json()["message"] or "member" in not_member.json()["message"]
    assert stored() == []


def test_an_image_of_another_job_is_refused_and_nothing_is_assigned(
    job: Any, items: list[Any], dataset: Any, manager: Any, annotator: Any, manager_api: Any
) -> None:
    from apps.labeling.services import job_create

    other = job_create(name="Other", dataset=dataset, created_by=manager, label_classes=[])
    stranger = other.items.first()

    response = assign(manager_api, job, item_ids=[items[0].pk, stranger.pk], annotator=annotator.pk)

    assert response.status_code == 400
    assert str(stranger.pk) in response.json()["message"]
    assert stored() == []


def test_only_managers_assign(
    job: Any, items: list[Any], annotator: Any, annotator_api: Any, auditor_api: Any, outsider_api: Any
) -> None:
    for client, status in ((annotator_api, 403), (auditor_api, 403), (outsider_api, 404)):
        body = {"item_ids": [items[0].pk], "annotator": annotator.pk}
        assert assign(client, job, **body).status_code == status
        split = client.post(
            f"/api/jobs/{job.pk}/assignments/split/", {"annotators": [annotator.pk]}, format="json"
        )
        assert split.status_code == status
    assert outsider_api.get(f"/api/jobs/{job.pk}/assignments/history/").status_code == 404
    assert stored() == []


# Splitting evenly ---------------------------------------------------------------------------------


def test_split_evenly_gives_the_unlabeled_images_in_runs_that_differ_by_at_most_one(
    job: Any,
    dataset: Any,
    labels: dict[str, Any],
    manager: Any,
    annotator: Any,
    annotator2: Any,
    manager_api: Any,
    annotator_api: Any,
    add_polygon: Any,
    send: Any,
) -> None:
    from apps.datasets.services import image_create
    from apps.labeling.services import job_sync

    for n in range(8):
        image_create(dataset=dataset, path=f"more/extra_{n:02}.png", content=png_bytes(20, 20))
    job_sync(job=job)
    every = list(job.items.order_by("id"))
    labeled = every[3]
    saved_label(annotator_api, labeled, labels["cat"].pk, add_polygon, send)
    annotators = [annotator.pk, annotator2.pk, manager.pk]

    response = manager_api.post(
        f"/api/jobs/{job.pk}/assignments/split/", {"annotators": annotators}, format="json"
    )

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["items"] == 10  # 11 images, one labeled
    counts = {row["user"]: row["items"] for row in answer["counts"]}
    assert sorted(counts.values()) == [3, 3, 4] and max(counts.values()) - min(counts.values()) <= 1
    rows = stored()
    assert labeled.pk not in [item for item, _, _ in rows]
    got = {user: [item for item, holder, _ in rows if holder == user] for user in annotators}
    assert {user: len(held) for user, held in got.items()} == counts
    # In runs of neighbouring images, in the order given.
    assert max(got[annotator.pk]) < min(got[annotator2.pk]) < max(got[annotator2.pk]) < min(got[manager.pk])
    assert len(history(manager_api, job)) == 10
    assert {r["batch"] for r in history(manager_api, job)} == {answer["batch"]}


def test_split_takes_the_filter_and_refuses_a_non_annotator(
    job: Any, items: list[Any], auditor: Any, annotator: Any, annotator2: Any, manager_api: Any
) -> None:
    url = f"/api/jobs/{job.pk}/assignments/split/"
    assign(manager_api, job, item_ids=[items[0].pk], annotator=annotator.pk)

    refused = manager_api.post(url, {"annotators": [annotator.pk, auditor.pk]}, format="json")
    twice = manager_api.post(url, {"annotators": [annotator.pk, annotator.pk]}, format="json")
    empty = manager_api.post(url, {"annotators": []}, format="json")
    split = manager_api.post(
        url, {"annotators": [annotator2.pk], "filter": {"assigned_to": "none"}}, format="json"
    )

    assert refused.status_code == 400 and refused.json()["code"] == "invalid_assignee"
    assert twice.status_code == 400 and empty.status_code == 400
    assert split.status_code == 200 and split.json()["items"] == 2
    assert stored() == sorted(
        [
            (items[0].pk, annotator.pk, None),
            (items[1].pk, annotator2.pk, None),
            (items[2].pk, annotator2.pk, None),
        ]
    )


# Next ---------------------------------------------------------------------------------------------


def test_next_gives_my_assigned_image_first_then_an_unassigned_one_never_anothers(
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    manager_api: Any,
    annotator_api: Any,
    add_polygon: Any,
    send: Any,
) -> None:
    first, second, third = sorted(items, key=lambda i: i.pk)
    assign(manager_api, job, item_ids=[first.pk], annotator=annotator2.pk)
    assign(manager_api, job, item_ids=[third.pk], annotator=annotator.pk)

    mine = next_for(annotator_api, job, **{"for": "label"})
    assert mine.status_code == 200, mine.json()
    assert (mine.json()["item"], mine.json()["assigned_to_me"]) == (third.pk, True)
    assert mine.json()["url"] == f"/items/{third.pk}/"
    assert "no-store" in mine["Cache-Control"], "each ask holds an image: never answered from a cache"
    saved_label(annotator_api, third, labels["cat"].pk, add_polygon, send)

    unassigned = next_for(annotator_api, job)  # "for" defaults to label
    assert (unassigned.json()["item"], unassigned.json()["assigned_to_me"]) == (second.pk, False)
    saved_label(annotator_api, second, labels["dog"].pk, add_polygon, send)

    none_left = next_for(annotator_api, job, **{"for": "label"})
    assert none_left.status_code == 404
    assert none_left.json()["code"] == "nothing_to_do" and none_left.json()["message"]


def test_next_is_for_those_who_do_the_work(
    job: Any, items: list[Any], annotator_api: Any, auditor_api: Any, outsider_api: Any, manager_api: Any
) -> None:
    assert next_for(auditor_api, job, **{"for": "label"}).status_code == 403
    assert next_for(auditor_api, job, **{"for": "review"}).status_code == 403
    assert next_for(annotator_api, job, **{"for": "review"}).status_code == 403
    assert next_for(outsider_api, job, **{"for": "label"}).status_code == 404
    assert next_for(manager_api, job, **{"for": "label"}).status_code == 200
    bad = next_for(annotator_api, job, **{"for": "dance"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
    assert next_for(annotator_api, job, join="maybe").status_code == 400


def test_next_passes_over_an_image_someone_else_has_open_unless_i_join(
    job: Any, items: list[Any], annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    from django.utils import timezone

    from apps.review.models import ItemPresence

    first = min(items, key=lambda i: i.pk)
    ItemPresence.objects.create(channel="other", item=first, user=annotator2, seen_at=timezone.now())
    ItemPresence.objects.create(channel="mine", item=first, user=annotator, seen_at=timezone.now())

    passed = next_for(annotator_api, job, **{"for": "label"})
    joined = next_for(annotator_api, job, **{"for": "label", "join": True})

    assert passed.json()["item"] != first.pk
    assert joined.json()["item"] == first.pk
    assert joined.json()["others_on_it"] == [{"id": annotator2.pk, "username": annotator2.username}]


def test_a_presence_row_past_the_idle_timeout_no_longer_counts(
    job: Any, items: list[Any], annotator2: Any, annotator_api: Any, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.review.models import ItemPresence

    first = min(items, key=lambda i: i.pk)
    idle = settings.POLYLOG["WS_IDLE_SECONDS"]
    ItemPresence.objects.create(
        channel="gone", item=first, user=annotator2, seen_at=timezone.now() - timedelta(seconds=idle + 120)
    )

    assert next_for(annotator_api, job, **{"for": "label"}).json()["item"] == first.pk


def test_the_admin_shows_the_record_read_only(
    job: Any, items: list[Any], annotator: Any, manager_api: Any, staff: Any, client: Any
) -> None:
    from apps.review.models import AssignmentChange

    assign(manager_api, job, item_ids=[items[0].pk], annotator=annotator.pk)
    change = AssignmentChange.objects.get()
    client.force_login(staff)
    staff.is_superuser = True
    staff.save()

    listed = client.get("/admin/review/assignmentchange/")
    opened = client.get(f"/admin/review/assignmentchange/{change.pk}/change/")
    delete = client.post(f"/admin/review/assignmentchange/{change.pk}/delete/", {"post": "yes"})

    assert listed.status_code == 200 and annotator.username in listed.content.decode()
    assert opened.status_code == 200 and b'name="_save"' not in opened.content
    assert delete.status_code == 403
    assert AssignmentChange.objects.count() == 1


# Presence from the item socket --------------------------------------------------------------------


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Any]:
    from tests.integration.test_ws_support import Sockets

    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_open_item_socket_is_passed_over_by_next_until_it_closes(
    sockets: Any, job: Any, items: list[Any], annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    first = min(items, key=lambda i: i.pk)
    post = database_sync_to_async(next_for)

    bob = await sockets.item(annotator2, first.pk)
    await bob.send({"type": "ping"})
    await bob.next("pong")  # the join was recorded before the ping was answered
    while_open = await post(annotator_api, job, **{"for": "label"})
    joined = await post(annotator_api, job, **{"for": "label", "join": True})
    await bob.close()
    after = await post(annotator_api, job, **{"for": "label"})

    assert while_open.json()["item"] != first.pk
    assert joined.json()["item"] == first.pk
    assert joined.json()["others_on_it"] == [{"id": annotator2.pk, "username": annotator2.username}]
    assert after.json()["item"] == first.pk


# The reviewer's seat and "next" for review -------------------------------------------------------


@pytest.fixture
def reviewer(job: Any, make_user: Any) -> Any:
    from apps.labeling.models import Role
    from apps.labeling.services import job_member_set

    person = make_user("rita_reviewer")
    job_member_set(job=job, user=person, role=Role.REVIEWER)
    return person


@pytest.fixture
def reviewer_api(client_for: Any, reviewer: Any) -> Any:
    return client_for(reviewer)


def test_a_reviewer_holds_the_reviewer_seat_never_the_annotators(
    job: Any, items: list[Any], reviewer: Any, manager_api: Any, reviewer_api: Any
) -> None:
    as_annotator = assign(manager_api, job, item_ids=[items[0].pk], annotator=reviewer.pk)
    as_reviewer = assign(manager_api, job, item_ids=[items[0].pk], reviewer=reviewer.pk)

    assert as_annotator.status_code == 400 and as_annotator.json()["code"] == "invalid_assignee"
    assert as_reviewer.status_code == 200
    assert stored() == [(items[0].pk, None, reviewer.pk)]
    assert ids(listing(reviewer_api, job, assigned_to="me")) == [items[0].pk]
    assert assign(reviewer_api, job, item_ids=[items[0].pk], reviewer=None).status_code == 403
    assert next_for(reviewer_api, job, **{"for": "label"}).status_code == 403


def test_next_for_review_gives_my_image_to_review_first_then_an_unassigned_one(
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    manager: Any,
    reviewer: Any,
    manager_api: Any,
    reviewer_api: Any,
    annotator_api: Any,
    add_polygon: Any,
    send: Any,
) -> None:
    first, second, third = sorted(items, key=lambda i: i.pk)
    assert next_for(reviewer_api, job, **{"for": "review"}).json()["code"] == "nothing_to_do"
    for item in (first, second, third):
        saved_label(annotator_api, item, labels["cat"].pk, add_polygon, send)
    assign(manager_api, job, item_ids=[first.pk], reviewer=manager.pk)
    assign(manager_api, job, item_ids=[third.pk], reviewer=reviewer.pk)

    mine = next_for(reviewer_api, job, **{"for": "review"}).json()
    assert (mine["item"], mine["assigned_to_me"]) == (third.pk, True)
    assert send(reviewer_api, third.pk, {"type": "accept_review"}).status == 201

    unassigned = next_for(reviewer_api, job, **{"for": "review"}).json()
    assert (unassigned["item"], unassigned["assigned_to_me"]) == (second.pk, False)
    assert send(reviewer_api, second.pk, {"type": "reject_review", "reason": "the ear is cut"}).status == 201

    # The manager's image is theirs to review; the rejected one waits for its annotator again.
    assert next_for(reviewer_api, job, **{"for": "review"}).status_code == 404
    assert next_for(manager_api, job, **{"for": "review"}).json()["item"] == first.pk
    assert next_for(annotator_api, job, **{"for": "label"}).json()["item"] == second.pk
