"""POST /api/items/delete/: images leave the job, their streams stay for audit, files go only when asked."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage, default_storage

from apps.datasets.models import Dataset, Image
from apps.datasets.tasks import SOURCE_FILES_DELETE_TASK
from apps.labeling.models import Item, ItemDeletion, Role, StoredEvent
from apps.labeling.services import job_create, job_member_set, job_sync
from apps.tasks import backends
from apps.tasks.models import TaskRun
from apps.tasks.runner import task_execute
from apps.tasks.services import task_wait

pytestmark = pytest.mark.django_db(transaction=True)


def delete(api: Any, item_ids: list[int], **options: Any) -> Any:
    """Ask for a deletion, and wait for the file deletion it queued (the embedded pool runs it)."""
    response = api.post("/api/items/delete/", {"item_ids": item_ids, **options}, format="json")
    if response.status_code == 200:
        for run in TaskRun.objects.filter(
            kind=SOURCE_FILES_DELETE_TASK, args__deletion_id=response.json()["id"]
        ):
            assert task_wait(run.pk, timeout=30).status in (TaskRun.Status.DONE, TaskRun.Status.FAILED)
    return response


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The queue paused: runs handed to it are held here, and a test runs them itself."""
    submitted: list[int] = []
    monkeypatch.setattr(backends, "submit", lambda run_id, kind: submitted.append(run_id))
    return submitted


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
    assert StoredEvent.objects.filter(item=item).count() == 1


def test_deleting_the_source_files_removes_them_and_their_thumbnails(item: Any, manager_api: Any) -> None:
    names = [item.image.file.name, item.image.thumbnail.name]

    response = delete(manager_api, [item.pk], delete_source_files=True)

    assert response.status_code == 200
    assert response.json()["files_deleted"] == [item.image.file.name]
    assert not any(default_storage.exists(name) for name in names)


def test_the_answer_comes_before_the_files_go_and_a_task_on_the_queue_deletes_them(
    item: Any, manager_api: Any, held: list[int]
) -> None:
    names = [item.image.file.name, item.image.thumbnail.name]

    response = manager_api.post(
        "/api/items/delete/", {"item_ids": [item.pk], "delete_source_files": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["files_deleted"] == [item.image.file.name]
    assert all(default_storage.exists(name) for name in names)  # the request left them to the queue
    run = TaskRun.objects.get(pk=held[0])
    assert (run.kind, run.status, run.total) == (SOURCE_FILES_DELETE_TASK, TaskRun.Status.QUEUED, 2)
    assert run.args == {"files": sorted(names), "deletion_id": response.json()["id"]}

    task_execute(run.pk)

    run.refresh_from_db()
    assert (run.status, run.done, run.error) == (TaskRun.Status.DONE, 2, "")
    assert not any(default_storage.exists(name) for name in names)


def test_a_file_that_cannot_be_deleted_fails_the_task_with_its_reason_and_the_others_go(
    items: list[Any], manager_api: Any, held: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck, gone = items[0].image, items[1].image
    real_delete = FileSystemStorage.delete

    def refuses_one(storage: Any, name: str) -> None:
        if name == stuck.file.name:
            raise PermissionError(13, "Permission denied", name)
        real_delete(storage, name)

    monkeypatch.setattr(FileSystemStorage, "delete", refuses_one)
    response = manager_api.post(
        "/api/items/delete/",
        {"item_ids": [items[0].pk, items[1].pk], "delete_source_files": True},
        format="json",
    )
    assert response.status_code == 200

    task_execute(held[0])

    run = TaskRun.objects.get(pk=held[0])
    assert (run.status, run.done, run.total) == (TaskRun.Status.FAILED, 4, 4)
    assert run.error == (
        f"SourceFilesNotDeleted: 1 of 4 files could not be deleted: {stuck.file.name}"
        f" (PermissionError: [Errno 13] Permission denied: '{stuck.file.name}')"
    )
    assert default_storage.exists(stuck.file.name)
    assert not default_storage.exists(stuck.thumbnail.name)
    assert not any(default_storage.exists(name) for name in (gone.file.name, gone.thumbnail.name))


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


# Files another job still shows: force reaches only as far as the requester manages -----------------


@pytest.fixture
def other_manager(make_user: Any) -> Any:
    return make_user("bea_manager")


@pytest.fixture
def other_job(dataset: Any, other_manager: Any) -> Any:
    """Job B over the same dataset, managed by someone else: it still shows every image of it."""
    return job_create(name="Hidden second pass", dataset=dataset, created_by=other_manager)


def snapshot_of(job: Any, api: Any) -> dict[str, Any]:
    """What a deletion could change: the list, the counts, the records and the stored files."""
    listing = api.get(f"/api/jobs/{job.pk}/items/").json()
    return {
        "listed": {row["id"] for row in listing["results"]},
        "counts": listing["status_counts"],
        "hidden": set(Item.objects.filter(deleted_at__isnull=False).values_list("id", flat=True)),
        "records": ItemDeletion.objects.count(),
        "files": {image.file.name: default_storage.exists(image.file.name) for image in Image.objects.all()},
    }


@pytest.mark.parametrize("role_in_other_job", [None, Role.ANNOTATOR, Role.AUDITOR])
def test_force_keeps_files_another_managers_job_still_shows(
    job: Any,
    item: Any,
    manager: Any,
    manager_api: Any,
    other_job: Any,
    role_in_other_job: str | None,
) -> None:
    if role_in_other_job is not None:
        job_member_set(job=other_job, user=manager, role=role_in_other_job)

    response = delete(manager_api, [item.pk], delete_source_files=True, force=True)

    assert response.status_code == 200
    body = response.json()
    assert item.pk not in listed_ids(manager_api, job)  # the items of the requester's job go
    assert default_storage.exists(item.image.file.name)  # the file stays
    assert default_storage.exists(item.image.thumbnail.name)
    assert body["files_deleted"] == []
    assert [kept["file"] for kept in body["files_kept"]] == [item.image.file.name]
    assert ItemDeletion.objects.get(pk=body["id"]).files_deleted == []
    assert other_job.items.get(image=item.image).deleted_at is None  # job B still shows it
    reason = body["files_kept"][0]["reason"]
    if role_in_other_job is None:
        assert "Hidden second pass" not in reason
        assert "1 other job you can't see" in reason
    else:
        assert f"job 'Hidden second pass' (you are its {role_in_other_job}, not a manager)" in reason


def test_force_removes_files_used_only_by_jobs_the_requester_manages(
    job: Any, item: Any, manager: Any, manager_api: Any, other_job: Any
) -> None:
    job_member_set(job=other_job, user=manager, role=Role.MANAGER)
    names = [item.image.file.name, item.image.thumbnail.name]

    response = delete(manager_api, [item.pk], delete_source_files=True, force=True)

    assert response.status_code == 200
    assert response.json()["files_deleted"] == [item.image.file.name]
    assert response.json()["files_kept"] == []
    assert not any(default_storage.exists(name) for name in names)


def test_staff_force_removes_files_any_job_still_shows(
    job: Any, item: Any, staff_api: Any, other_job: Any
) -> None:
    refused = delete(staff_api, [item.pk], delete_source_files=True)
    forced = delete(staff_api, [item.pk], delete_source_files=True, force=True)

    assert refused.status_code == 409
    assert "job 'Hidden second pass'" in refused.json()["message"]  # staff see every job
    assert forced.status_code == 200
    assert forced.json()["files_deleted"] == [item.image.file.name]
    assert not default_storage.exists(item.image.file.name)


def test_the_refusal_names_a_job_the_requester_sees_but_only_counts_those_they_cannot(
    job: Any, dataset: Any, item: Any, manager: Any, manager_api: Any, other_job: Any, other_manager: Any
) -> None:
    seen = job_create(name="Seen review", dataset=dataset, created_by=other_manager)
    job_member_set(job=seen, user=manager, role=Role.AUDITOR)

    refused = delete(manager_api, [item.pk], delete_source_files=True)

    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "source_file_in_use"
    assert "job 'Seen review' (you are its auditor, not a manager)" in body["message"]
    assert "1 other job you can't see" in body["message"]
    assert "Hidden second pass" not in body["message"]


def test_a_refused_deletion_changes_nothing(
    job: Any,
    items: list[Any],
    labels: Any,
    manager_api: Any,
    annotator_api: Any,
    add_polygon: Any,
    other_job: Any,
) -> None:
    add_polygon(annotator_api, items[0].pk, labels["cat"].pk)
    before = snapshot_of(job, manager_api)

    refused = delete(manager_api, [item.pk for item in items], delete_source_files=True)

    assert refused.status_code == 409
    assert snapshot_of(job, manager_api) == before
    assert all(before["files"].values())
    assert not TaskRun.objects.exists()  # no file deletion queued


def test_force_keeps_a_file_another_persons_dataset_holds_without_naming_it(
    job: Any, item: Any, manager_api: Any, other_manager: Any
) -> None:
    private = Dataset.objects.create(name="Private shots", created_by=other_manager)
    Image.objects.create(
        dataset=private, file=item.image.file.name, name="x.png", path="x.png", width=100, height=80
    )

    refused = delete(manager_api, [item.pk], delete_source_files=True)
    forced = delete(manager_api, [item.pk], delete_source_files=True, force=True)

    assert refused.status_code == 409
    assert "1 other dataset you can't see" in refused.json()["message"]
    assert "Private shots" not in refused.json()["message"]
    assert forced.status_code == 200
    assert forced.json()["files_deleted"] == []
    assert "Private shots" not in forced.json()["files_kept"][0]["reason"]
    assert default_storage.exists(item.image.file.name)
