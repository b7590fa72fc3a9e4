"""POST /api/items/delete/: images leave the job, their streams stay for audit, files go only when asked."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import default_storage

from apps.datasets.models import Dataset, Image
from apps.labeling.models import Event, ItemDeletion
from apps.labeling.services import job_create, job_sync

pytestmark = pytest.mark.django_db(transaction=True)


def delete(api: Any, item_ids: list[int], **options: Any) -> Any:
    return api.post("/api/items/delete/", {"item_ids": item_ids, **options}, format="json")


def listed_ids(api: Any, job: Any) -> set[int]:
    return {row["id"] for row in api.get(f"/api/jobs/{job.pk}/items/").json()["results"]}


def test_deleted_images_leave_the_list_and_the_counts_and_the_deletion_is_recorded(
    job: Any,
    items: list[Any],
    labels: Any,
    manager: Any,
    manager_api: Any,
    annotator_api: Any,
    add_polygon: Any,
) -> None:
    target = items[0]
    add_polygon(annotator_api, target.pk, labels["cat"].pk)

    response = delete(manager_api, [target.pk])

    assert response.status_code == 200
    assert target.pk not in listed_ids(manager_api, job)
    listing = manager_api.get(f"/api/jobs/{job.pk}/items/").json()
    assert listing["status_counts"]["all"] == len(items) - 1
    assert listing["label_counts"] == {}
    record = ItemDeletion.objects.get(pk=response.json()["id"])
    assert (record.item_ids, record.actor, record.delete_source_files) == ([target.pk], manager, False)
    history = manager_api.get(f"/api/jobs/{job.pk}/deletions/").json()
    assert [h["item_ids"] for h in history] == [[target.pk]]
    assert default_storage.exists(target.image.file.name)  # the source file stays


def test_an_auditor_still_reads_a_deleted_items_stream_but_nobody_can_label_it(
    job: Any,
    item: Any,
    labels: Any,
    manager_api: Any,
    annotator_api: Any,
    auditor_api: Any,
    add_polygon: Any,
    send: Any,
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    delete(manager_api, [item.pk])

    events = auditor_api.get(f"/api/items/{item.pk}/events/")
    state = auditor_api.get(f"/api/items/{item.pk}/state/")
    refused = send(annotator_api, item.pk, {"type": "save"})

    assert events.status_code == 200 and [e["type"] for e in events.json()["results"]] == ["polygon_added"]
    assert state.status_code == 200 and len(state.json()["shapes"]) == 1
    assert (refused.status, refused.body["code"]) == (422, "item_deleted")
    assert Event.objects.filter(item=item).count() == 1


def test_deleting_the_source_files_removes_them_and_their_thumbnails(item: Any, manager_api: Any) -> None:
    names = [item.image.file.name, item.image.thumbnail.name]

    response = delete(manager_api, [item.pk], delete_source_files=True)

    assert response.status_code == 200
    assert response.json()["files_deleted"] == [item.image.file.name]
    assert not any(default_storage.exists(name) for name in names)


def test_source_files_another_dataset_uses_are_kept_unless_forced(
    job: Any, item: Any, manager: Any, manager_api: Any
) -> None:
    other = Dataset.objects.create(name="Shared", created_by=manager)
    Image.objects.create(
        dataset=other,
        file=item.image.file.name,
        name="cat.png",
        path="cat.png",
        width=100,
        height=80,
        checksum="x",
    )

    refused = delete(manager_api, [item.pk], delete_source_files=True)

    assert refused.status_code == 409
    assert refused.json()["code"] == "source_file_in_use"
    assert "Shared" in refused.json()["message"]
    assert item.pk in listed_ids(manager_api, job)  # nothing changed
    assert default_storage.exists(item.image.file.name)

    forced = delete(manager_api, [item.pk], delete_source_files=True, force=True)

    assert forced.status_code == 200
    assert not default_storage.exists(item.image.file.name)


def test_source_files_another_job_still_shows_are_kept_unless_forced(
    dataset: Any, item: Any, manager: Any, manager_api: Any
) -> None:
    job_create(name="Second pass", dataset=dataset, created_by=manager)

    refused = delete(manager_api, [item.pk], delete_source_files=True)

    assert refused.status_code == 409
    assert "Second pass" in refused.json()["message"]


def test_a_sync_does_not_bring_a_deleted_image_back(job: Any, item: Any, manager_api: Any) -> None:
    delete(manager_api, [item.pk])

    result = job_sync(job=job)

    assert result["added"] == 0
    assert item.pk not in listed_ids(manager_api, job)


@pytest.mark.parametrize(
    ("who", "status"),
    [("annotator_api", 403), ("auditor_api", 403), ("outsider_api", 404), ("manager_api", 200)],
)
def test_only_managers_delete_images(request: Any, item: Any, who: str, status: int) -> None:
    response = delete(request.getfixturevalue(who), [item.pk])

    assert response.status_code == status


@pytest.mark.parametrize(
    "body", [{}, {"item_ids": []}, {"item_ids": ["x"]}, {"item_ids": [1], "force": "maybe"}]
)
def test_a_malformed_delete_is_a_400(manager_api: Any, item: Any, body: dict[str, Any]) -> None:
    response = manager_api.post("/api/items/delete/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_an_unknown_or_already_deleted_item_is_a_404(manager_api: Any, item: Any) -> None:
    delete(manager_api, [item.pk])

    again = delete(manager_api, [item.pk])

    assert again.status_code == 404
    assert ItemDeletion.objects.count() == 1
