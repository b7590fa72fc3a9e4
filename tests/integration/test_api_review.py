"""Review over the API (issue 24, docs/review.md): the reviewer role, review and issue commands on REST and
the websocket, the items' review read models (list fields, the `review=` filter, the tabs' counts, live on
the job socket), and the rebuild that checks them against the log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from io import StringIO
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.core.management import CommandError, call_command

from apps.labeling.models import Item, JobTally, StoredEvent
from tests.conftest import new_id, square
from tests.integration.test_ws_support import Sockets, polygon


def review_state(client: Any, item_id: int) -> dict[str, Any]:
    body = client.get(f"/api/items/{item_id}/state/").json()
    return {"review": body["review"], "issues": body["issues"]}


def listed(client: Any, job_id: int, **query: Any) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job_id}/items/", query)
    assert response.status_code == 200, response.content
    return response.json()


def labeled_and_saved(send: Any, add_polygon: Any, client: Any, item_id: int, label_id: int) -> str:
    shape_id = new_id()
    add_polygon(client, item_id, label_id, shape_id=shape_id)
    assert send(client, item_id, {"type": "save"}).status == 201
    return shape_id


def an_issue(shape_id: str | None = None, text: str = "The ear is cut off") -> dict[str, Any]:
    command = {"type": "open_issue", "issue_id": new_id(), "x": 12.0, "y": 14.5, "text": text}
    return command if shape_id is None else {**command, "shape_id": shape_id}


@pytest.mark.django_db
def test_a_review_round_trip_over_rest(
    job: Any,
    item: Any,
    labels: Any,
    annotator: Any,
    annotator_api: Any,
    reviewer: Any,
    reviewer_api: Any,
    send: Any,
    add_polygon: Any,
) -> None:
    """Reject with an issue on a shape, the annotator resolves it and saves, the reviewer accepts."""
    shape_id = labeled_and_saved(send, add_polygon, annotator_api, item.pk, labels["cat"].pk)
    assert review_state(reviewer_api, item.pk)["review"]["status"] == "to_review"

    issue = an_issue(shape_id, "<b>wrong</b> corner")
    assert send(reviewer_api, item.pk, issue).status == 201
    assert send(reviewer_api, item.pk, {"type": "reject_review", "reason": "See the issue"}).status == 201
    refused = send(reviewer_api, item.pk, {"type": "accept_review"})
    after_reject = review_state(annotator_api, item.pk)
    row = listed(annotator_api, job.pk, review="rejected")["results"]

    assert (refused.status, refused.body["code"]) == (422, "open_issues")
    assert after_reject["review"] == {
        "status": "rejected",
        "reason": "See the issue",
        "actor": reviewer.pk,
        "seq": 4,
    }
    assert after_reject["issues"][0] | {"id": None} == {
        "id": None,
        "x": 12.0,
        "y": 14.5,
        "shape_id": shape_id,
        "text": "<b>wrong</b> corner",  # stored as sent; every client escapes it
        "author": reviewer.pk,
        "status": "open",
        "seq": 3,
        "comments": [],
    }
    assert [(r["id"], r["review_status"], r["open_issues"]) for r in row] == [(item.pk, "rejected", 1)]

    issue_id = issue["issue_id"]
    assert (
        send(annotator_api, item.pk, {"type": "comment_issue", "issue_id": issue_id, "text": "Fixed"}).status
        == 201
    )
    assert send(annotator_api, item.pk, {"type": "resolve_issue", "issue_id": issue_id}).status == 201
    assert send(annotator_api, item.pk, {"type": "save"}).status == 201
    back = listed(reviewer_api, job.pk, review="to_review")["results"]
    assert send(reviewer_api, item.pk, {"type": "accept_review"}).status == 201

    final = review_state(reviewer_api, item.pk)
    assert [(r["id"], r["open_issues"]) for r in back] == [(item.pk, 0)]
    assert final["review"]["status"] == "accepted" and final["review"]["actor"] == reviewer.pk
    assert final["issues"][0]["status"] == "resolved"
    assert final["issues"][0]["comments"] == [{"text": "Fixed", "actor": annotator.pk, "seq": 5}]
    assert Item.objects.get(pk=item.pk).review_status == "accepted"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "command",
    [
        {"type": "add_polygon", "shape_id": "7f0c1a52-3b7e-4d2a-9c1e-0a8b7c6d5e4f", "label_class_id": 0},
        {"type": "save"},
        {"type": "undo"},
        {"type": "mark_hard_example"},
        {"type": "delete_all_shapes"},
    ],
    ids=lambda c: c["type"],
)
def test_a_reviewer_sends_no_shape_command(
    item: Any, labels: Any, reviewer_api: Any, send: Any, command: dict[str, Any]
) -> None:
    if command["type"] == "add_polygon":
        command = {**command, "label_class_id": labels["cat"].pk, "points": square(5, 5, 10)}
    before = item.events.count()

    sent = send(reviewer_api, item.pk, command)

    assert (sent.status, sent.body["code"]) == (403, "permission_denied")
    assert item.events.count() == before


@pytest.mark.django_db
def test_an_annotator_opens_and_resolves_issues_but_does_not_review(
    item: Any, labels: Any, annotator_api: Any, auditor_api: Any, send: Any, add_polygon: Any
) -> None:
    labeled_and_saved(send, add_polygon, annotator_api, item.pk, labels["cat"].pk)
    issue = an_issue()

    opened = send(annotator_api, item.pk, issue)
    accepted = send(annotator_api, item.pk, {"type": "accept_review"})
    reopened = send(annotator_api, item.pk, {"type": "reopen_issue", "issue_id": issue["issue_id"]})
    by_auditor = send(
        auditor_api, item.pk, {"type": "comment_issue", "issue_id": issue["issue_id"], "text": "x"}
    )

    assert opened.status == 201
    assert (accepted.status, accepted.body["code"]) == (403, "permission_denied")
    assert (reopened.status, reopened.body["code"]) == (403, "permission_denied")
    assert (by_auditor.status, by_auditor.body["code"]) == (403, "permission_denied")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({"type": "reject_review", "reason": ""}, "invalid_command"),
        ({"type": "reject_review", "reason": "x" * 2001}, "invalid_command"),
        ({"type": "open_issue", "issue_id": new_id(), "x": 1, "y": 1, "text": "   "}, "invalid_command"),
        (
            {"type": "open_issue", "issue_id": new_id(), "x": 500, "y": 1, "text": "off"},
            "polygon_outside_image",
        ),
        ({"type": "comment_issue", "issue_id": new_id(), "text": "hello"}, "unknown_issue"),
        ({"type": "accept_review"}, "not_saved"),
    ],
    ids=["empty reason", "long reason", "blank text", "outside", "unknown issue", "unsaved"],
)
def test_bad_review_commands_are_refused_with_a_stable_code_and_store_nothing(
    item: Any, reviewer_api: Any, send: Any, command: dict[str, Any], code: str
) -> None:
    sent = send(reviewer_api, item.pk, command)

    assert (sent.status, sent.body["code"]) == (400 if code == "invalid_command" else 422, code)
    assert item.events.count() == 0


@pytest.mark.django_db
def test_the_review_filter_combines_with_the_others_and_counts_come_from_the_tallies(
    job: Any,
    items: list[Any],
    labels: Any,
    annotator_api: Any,
    reviewer_api: Any,
    send: Any,
    add_polygon: Any,
) -> None:
    bird, cat, dog = items
    for it, label in ((bird, "dog"), (cat, "cat"), (dog, "dog")):
        labeled_and_saved(send, add_polygon, annotator_api, it.pk, labels[label].pk)
    assert send(reviewer_api, cat.pk, {"type": "accept_review"}).status == 201
    assert send(reviewer_api, dog.pk, {"type": "reject_review", "reason": "Tail missing"}).status == 201

    page = listed(reviewer_api, job.pk)
    rejected_dogs = listed(reviewer_api, job.pk, review="rejected", label_class=str(labels["dog"].pk))
    to_review = listed(reviewer_api, job.pk, review="to_review")
    none = listed(reviewer_api, job.pk, review="none")
    bad = reviewer_api.get(f"/api/jobs/{job.pk}/items/", {"review": "maybe"})

    assert page["review_counts"] == {"to_review": 1, "accepted": 1, "rejected": 1}
    assert [r["id"] for r in rejected_dogs["results"]] == [dog.pk]
    assert [r["id"] for r in to_review["results"]] == [bird.pk] and to_review["count"] == 1
    assert none["count"] == 0
    assert bad.status_code == 400
    assert dict(JobTally.objects.filter(job=job, key__startswith="review:").values_list("key", "count")) == {
        "review:to_review": 1,
        "review:accepted": 1,
        "review:rejected": 1,
    }


@pytest.mark.django_db
def test_the_rebuild_checks_and_repairs_the_review_read_models(
    job: Any, item: Any, labels: Any, annotator_api: Any, reviewer_api: Any, send: Any, add_polygon: Any
) -> None:
    labeled_and_saved(send, add_polygon, annotator_api, item.pk, labels["cat"].pk)
    assert send(reviewer_api, item.pk, an_issue()).status == 201
    assert send(reviewer_api, item.pk, {"type": "reject_review", "reason": "Redo"}).status == 201
    call_command("rebuild_projections", "--check", stdout=StringIO())  # agrees: no CommandError

    Item.objects.filter(pk=item.pk).update(review_status="accepted", open_issues=0)
    JobTally.objects.filter(job=job, key="review:rejected").delete()
    with pytest.raises(CommandError):
        out = StringIO()
        call_command("rebuild_projections", "--check", stdout=out)
    report = out.getvalue()
    call_command("rebuild_projections", "--now", stdout=StringIO())

    assert f"item {item.pk}: review_status is 'accepted', the log says 'rejected'" in report
    assert f"item {item.pk}: open_issues is 0, the log says 1" in report
    assert f"job {job.pk}: tally review:rejected is 0, the log says 1" in report
    fixed = Item.objects.get(pk=item.pk)
    assert (fixed.review_status, fixed.open_issues) == ("rejected", 1)
    assert JobTally.objects.get(job=job, key="review:rejected").count == 1


@pytest.mark.django_db
def test_a_manager_makes_someone_a_reviewer(job: Any, manager_api: Any, make_user: Any) -> None:
    newcomer = make_user("rhea_reviewer")

    added = manager_api.post(
        f"/api/jobs/{job.pk}/members/", {"username": newcomer.username, "role": "reviewer"}, format="json"
    )

    assert added.status_code == 201, added.content
    assert added.json()["role"] == "reviewer"
    assert job.memberships.get(user=newcomer).role == "reviewer"


# Live ---------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_job_counts_follow_review_live(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator: Any, reviewer: Any, manager: Any
) -> None:
    """A reject moves the item from to_review to rejected in a counts frame, with its item frame, and the
    reviewer's issue reaches the annotator on the image as an event."""
    watcher = await sockets.job(manager, job.pk)
    drawer = await sockets.item(annotator, item.pk)
    judge = await sockets.item(reviewer, item.pk)

    await drawer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    await drawer.command({"type": "save"}, new_id())
    saved = await watcher.next("counts")
    while saved["status_counts"]["labeled"] != 1:
        saved = await watcher.next("counts")
    issue = an_issue()
    assert (await judge.command(issue, new_id()))["type"] == "ack"
    assert (await judge.command({"type": "reject_review", "reason": "Ear"}, new_id()))["type"] == "ack"
    rejected = await watcher.next("counts")
    seen_by_drawer = [frame["event"]["type"] for frame in await drawer.drain("event")]
    items = [frame["item"] for frame in await watcher.drain("item")]

    assert saved["review_counts"] == {"to_review": 1, "accepted": 0, "rejected": 0}
    assert rejected["review_counts"] == {"to_review": 0, "accepted": 0, "rejected": 1}
    assert items[-1]["review_status"] == "rejected" and items[-1]["open_issues"] == 1
    assert "issue_opened" in seen_by_drawer and "review_rejected" in seen_by_drawer
    counts = await database_sync_to_async(
        lambda: dict(JobTally.objects.filter(job=job, key__startswith="review:").values_list("key", "count"))
    )()
    assert counts == {"review:to_review": 0, "review:rejected": 1}


@pytest.mark.django_db
def test_admin_makes_someone_a_reviewer_and_lists_items_by_review_status(
    admin_client: Any, job: Any, item: Any, make_user: Any
) -> None:
    newcomer = make_user("remy_reviewer")

    added = admin_client.post(
        "/admin/labeling/jobmember/add/", {"user": newcomer.pk, "job": job.pk, "role": "reviewer"}
    )
    listed_items = admin_client.get("/admin/labeling/item/", {"review_status__exact": "none"})

    assert added.status_code == 302, added.content[:500]
    assert job.memberships.get(user=newcomer).role == "reviewer"
    assert listed_items.status_code == 200
    assert item.image.path.encode() in listed_items.content


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_reviewed_streams_leave_read_models_the_rebuild_agrees_with(
    seed: int, job: Any, items: list[Any], labels: Any, annotator: Any, reviewer: Any, manager: Any
) -> None:
    """Shape and review commands by three roles, in a seeded random order through the service (refusals
    skipped): the item columns and the job tallies they leave are what rebuild_projections replays."""
    import random

    from apps.labeling.domain import parse_command
    from apps.labeling.projections import projections_rebuild
    from apps.labeling.services import item_command_handle

    rng = random.Random(seed)
    issues: dict[int, list[str]] = {it.pk: [] for it in items}
    shapes: dict[int, list[str]] = {it.pk: [] for it in items}
    for _ in range(120):
        it = rng.choice(items)
        actor = rng.choice([annotator, reviewer, manager])
        kind = rng.choice(
            [
                "draw",
                "draw",
                "save",
                "save",
                "delete",
                "accept",
                "reject",
                "reopen",
                "open",
                "resolve",
                "reissue",
            ]
        )
        x = rng.uniform(0, 40)
        command: dict[str, Any] = {
            "draw": {
                "type": "add_polygon",
                "shape_id": new_id(),
                "label_class_id": labels["cat"].pk,
                "points": square(x, x, 5),
            },
            "save": {"type": "save"},
            "delete": {"type": "delete_all_shapes"},
            "accept": {"type": "accept_review"},
            "reject": {"type": "reject_review", "reason": f"round {rng.randint(1, 9)}"},
            "reopen": {"type": "reopen_review"},
            "open": {"type": "open_issue", "issue_id": new_id(), "x": x, "y": x, "text": "look"},
            "resolve": {"type": "resolve_issue", "issue_id": rng.choice(issues[it.pk] or [new_id()])},
            "reissue": {"type": "reopen_issue", "issue_id": rng.choice(issues[it.pk] or [new_id()])},
        }[kind]
        if kind == "draw":
            shapes[it.pk].append(command["shape_id"])
        try:
            item_command_handle(item_id=it.pk, actor_id=actor.pk, command=parse_command(command))
        except Exception as refusal:  # a domain refusal or a role's 403: the stream stays as it was
            assert getattr(refusal, "code", None) is not None, refusal
            continue
        if kind == "open":
            issues[it.pk].append(command["issue_id"])

    report = projections_rebuild(repair=False)
    types = set(StoredEvent.objects.filter(item__job=job).values_list("type", flat=True))

    assert report.differences == []
    assert {"saved", "issue_opened", "review_rejected"} <= types  # the streams were reviewed
    statuses = set(Item.objects.filter(job=job).values_list("review_status", flat=True))
    assert statuses - {"none", "to_review", "accepted", "rejected"} == set()
