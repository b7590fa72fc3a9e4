"""GET /api/jobs/<id>/presence/?item_ids=: who else has which of the given images open now (or was just sent
to it by Start labeling), for the job page's Delete dialog to warn before it deletes an image someone is
working on (docs/review.md, "Who is on which image")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def on(item: Any, user: Any, channel: str, *, ago: float = 0) -> None:
    from apps.review.models import ItemPresence

    ItemPresence.objects.create(
        channel=channel, item=item, user=user, seen_at=timezone.now() - timedelta(seconds=ago)
    )


def presence(client: Any, job: Any, item_ids: str) -> Any:
    return client.get(f"/api/jobs/{job.pk}/presence/", {"item_ids": item_ids})


def test_it_names_the_others_on_the_images_asked_about_and_leaves_out_the_asker(
    job: Any, items: list[Any], manager: Any, annotator: Any, annotator2: Any, manager_api: Any
) -> None:
    from apps.review.models import NextClaim

    on(items[0], annotator, "a")
    on(items[0], annotator2, "b")
    on(items[0], manager, "c")  # myself: not someone else
    on(items[1], manager, "d")
    NextClaim.objects.create(user=annotator2, job=job, item=items[2], claimed_at=timezone.now())
    on(items[2], annotator, "gone", ago=10_000)  # a socket not heard of for long: not counted

    response = presence(manager_api, job, ",".join(str(item.pk) for item in items))

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    expected = {
        items[0].pk: [
            {"id": annotator.pk, "username": annotator.username},
            {"id": annotator2.pk, "username": annotator2.username},
        ],
        items[2].pk: [{"id": annotator2.pk, "username": annotator2.username}],
    }
    assert response.json() == {"items": [{"id": pk, "people": expected[pk]} for pk in sorted(expected)]}


def test_images_of_another_job_or_deleted_ones_are_never_named(
    job: Any, items: list[Any], manager: Any, annotator: Any, manager_api: Any, make_user: Any
) -> None:
    from apps.labeling.models import Item
    from apps.labeling.services import job_create

    other = job_create(name="Other", dataset=job.dataset, created_by=make_user("someone_else"))
    foreign = Item.objects.filter(job=other).first()
    on(foreign, annotator, "a")
    on(items[0], annotator, "b")
    Item.objects.filter(pk=items[0].pk).update(deleted_at=timezone.now())

    response = presence(manager_api, job, f"{foreign.pk},{items[0].pk}")

    assert (response.status_code, response.json()) == (200, {"items": []})


@pytest.mark.parametrize("item_ids", ["", "x", "1,,2", "0", "-1", "1," * 500 + "1", "1 2"])
def test_malformed_item_ids_are_refused_with_a_code_and_a_sentence(
    job: Any, manager_api: Any, item_ids: str
) -> None:
    response = presence(manager_api, job, item_ids)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request"
    assert "item_ids" in body["message"]
