"""Exports on the queue (issue 21, point 3): an export selecting POLYLOG_EXPORT_QUEUE_ITEMS items or more
answers 202 with a record, runs on the queue (the embedded pool here), reports export_progress frames on the
job's socket, leaves a zip downloadable by the job's members as an attachment, and expires (410, the file
deleted, on access or by the sweep)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.interchange.models import Export
from apps.tasks.models import TaskRun
from apps.tasks.services import task_wait, tasks_sweep
from tests.conftest import new_id, square
from tests.integration.test_asyncapi import _check, document  # noqa: F401 - the document is a fixture
from tests.integration.test_ws_support import Sockets

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _queue_from_two_items(settings: Any) -> None:
    """The fixtures' job has three items: an export of two or more goes to the queue."""
    settings.POLYLOG = {**settings.POLYLOG, "EXPORT_QUEUE_ITEMS": 2}


@pytest.fixture
def drawn(item: Any, labels: Any, annotator_api: Any, send: Any) -> Any:
    command = {"type": "add_polygon", "shape_id": new_id(), "label_class_id": labels["cat"].pk}
    assert send(annotator_api, item.pk, {**command, "points": square(5, 5, 20)}).status == 201
    return item


def queued(api: Any, job: Any, query: str = "format=coco") -> dict[str, Any]:
    response = api.get(f"/api/jobs/{job.pk}/export/?{query}")
    assert response.status_code == 202, response.content[:300]
    body = response.json()
    assert response["Location"] == body["url"] == f"/api/exports/{body['id']}/"
    return body


def finished(export_id: int) -> Export:
    export = Export.objects.select_related("run").get(pk=export_id)
    run = task_wait(export.run_id, timeout=60)
    assert run.status == TaskRun.Status.DONE, run.error
    export.refresh_from_db()
    return export


def streamed_names(api: Any, job: Any, query: str) -> dict[str, bytes]:
    response = api.get(f"/api/jobs/{job.pk}/export/?{query}")
    assert response.status_code == 200 and response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {name: archive.read(name) for name in archive.namelist()}


def downloaded(response: Any) -> dict[str, bytes]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {name: archive.read(name) for name in archive.namelist()}


# The queue and the download -------------------------------------------------------------------------


def test_a_large_export_answers_202_and_its_download_is_the_zip_a_streamed_export_gives(
    job: Any, drawn: Any, auditor_api: Any, settings: Any
) -> None:
    body = queued(auditor_api, job, "format=labelme&images=true")

    assert body["status"] in ("queued", "running", "done")
    assert (body["job"], body["format"], body["images"], body["total"]) == (job.pk, "labelme", True, 3)
    export = finished(body["id"])
    detail = auditor_api.get(body["url"])
    assert detail.status_code == 200
    done = detail.json()
    assert (done["status"], done["done"], done["total"]) == ("done", 3, 3)
    assert done["download_url"] == f"/api/exports/{export.pk}/download/"
    assert done["size"] == default_storage.size(export.file) > 0
    assert export.expires_at is not None and export.expires_at > timezone.now() + timedelta(hours=23)
    zipped = downloaded(auditor_api.get(done["download_url"]))

    settings.POLYLOG = {**settings.POLYLOG, "EXPORT_QUEUE_ITEMS": 1000}
    assert zipped == streamed_names(auditor_api, job, "format=labelme&images=true")


def test_a_queued_coco_export_with_images_adds_each_image_file_after_the_document(
    job: Any, items: Any, manager_api: Any
) -> None:
    export = finished(queued(manager_api, job, "format=coco&images=true")["id"])

    zipped = downloaded(manager_api.get(f"/api/exports/{export.pk}/download/"))

    names = list(zipped)
    assert names[0] == "annotations/instances_default.json"
    assert sorted(names[1:]) == sorted(f"images/{item.image.path}" for item in items)
    assert all(zipped[f"images/{item.image.path}"] == item.image.file.read() for item in items)


def test_a_small_export_still_streams_and_records_nothing(job: Any, manager_api: Any, settings: Any) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "EXPORT_QUEUE_ITEMS": 4}

    assert "annotations/instances_default.json" in streamed_names(manager_api, job, "format=coco")
    assert not Export.objects.exists()


def test_the_threshold_counts_the_items_the_filters_select(
    job: Any, drawn: Any, labels: Any, manager_api: Any
) -> None:
    one = streamed_names(manager_api, job, f"format=coco&label_class={labels['cat'].pk}")  # 1 item: streams
    assert b"cat_001.png" in one["annotations/instances_default.json"]
    assert not Export.objects.exists()

    body = queued(manager_api, job, "format=coco&status=all")
    export = finished(body["id"])
    assert export.query["status"] == "all" and "format" not in export.query
    zipped = downloaded(manager_api.get(f"/api/exports/{export.pk}/download/"))
    assert b"bird_003.png" in zipped["annotations/instances_default.json"]


def test_the_detail_says_202_while_it_is_made_and_the_download_409_export_not_ready(
    job: Any, manager: Any, manager_api: Any
) -> None:
    # Recorded but never handed to a worker: it stays queued.
    run = TaskRun.objects.create(kind="interchange.export", args={"job_id": job.pk}, total=3)
    export = Export.objects.create(job=job, requested_by=manager, format="coco", run=run)

    detail = manager_api.get(f"/api/exports/{export.pk}/")
    download = manager_api.get(f"/api/exports/{export.pk}/download/")

    assert detail.status_code == 202
    assert (detail.json()["status"], detail.json()["download_url"]) == ("queued", None)
    assert download.status_code == 409
    assert download.json()["code"] == "export_not_ready"


def test_a_failed_export_says_why_and_its_download_is_409_export_failed(
    job: Any, manager_api: Any, monkeypatch: Any
) -> None:
    from apps.interchange import exports

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the disk is full")

    monkeypatch.setattr(exports, "export_stream", broken)
    body = queued(manager_api, job)
    run = task_wait(Export.objects.get(pk=body["id"]).run_id, timeout=60)

    assert run.status == TaskRun.Status.FAILED
    detail = manager_api.get(body["url"]).json()
    assert detail["status"] == "failed" and "the disk is full" in detail["error"]
    download = manager_api.get(f"/api/exports/{body['id']}/download/")
    assert (download.status_code, download.json()["code"]) == (409, "export_failed")


# Expiry -----------------------------------------------------------------------------------------------


def test_an_expired_download_answers_410_and_its_file_is_deleted(job: Any, manager_api: Any) -> None:
    export = finished(queued(manager_api, job)["id"])
    assert default_storage.exists(export.file)
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = manager_api.get(f"/api/exports/{export.pk}/download/")

    assert response.status_code == 410
    assert response.json()["code"] == "export_expired"
    assert not default_storage.exists(export.file)
    assert Export.objects.get(pk=export.pk).file == ""
    detail = manager_api.get(f"/api/exports/{export.pk}/").json()
    assert (detail["status"], detail["download_url"]) == ("expired", None)
    assert manager_api.get(f"/api/exports/{export.pk}/download/").status_code == 410  # and stays so


def test_the_sweep_deletes_expired_downloads_and_keeps_the_others(
    job: Any, manager_api: Any, settings: Any
) -> None:
    old = finished(queued(manager_api, job)["id"])
    fresh = finished(queued(manager_api, job, "format=voc")["id"])
    Export.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    tasks_sweep()

    assert not default_storage.exists(old.file)
    assert Export.objects.get(pk=old.pk).file == ""
    assert default_storage.exists(fresh.file)
    assert manager_api.get(f"/api/exports/{fresh.pk}/download/").status_code == 200


def test_the_time_to_live_is_a_setting(job: Any, manager_api: Any, settings: Any) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "EXPORT_TTL_HOURS": 0}

    export = finished(queued(manager_api, job)["id"])
    assert default_storage.exists(export.file)

    assert manager_api.get(f"/api/exports/{export.pk}/download/").status_code == 410
    assert not default_storage.exists(export.file)


def test_a_download_whose_file_went_from_storage_is_410_too(job: Any, manager_api: Any) -> None:
    export = finished(queued(manager_api, job)["id"])
    default_storage.delete(export.file)

    response = manager_api.get(f"/api/exports/{export.pk}/download/")

    assert (response.status_code, response.json()["code"]) == (410, "export_expired")


# Refusals ---------------------------------------------------------------------------------------------


def test_a_non_member_gets_404_as_for_an_export_that_does_not_exist(
    job: Any, manager_api: Any, outsider_api: Any
) -> None:
    export = finished(queued(manager_api, job)["id"])

    for path in (f"/api/exports/{export.pk}/", f"/api/exports/{export.pk}/download/"):
        mine = outsider_api.get(path)
        nothing = outsider_api.get(path.replace(str(export.pk), str(export.pk + 1000)))
        assert mine.status_code == nothing.status_code == 404
        assert mine.json()["code"] == "not_found"
        assert mine.json()["message"].replace(str(export.pk), "") == nothing.json()["message"].replace(
            str(export.pk + 1000), ""
        )
    outsider_export = outsider_api.get(f"/api/jobs/{job.pk}/export/?format=coco")
    assert outsider_export.status_code == 404
    assert Export.objects.count() == 1


def test_a_member_removed_from_the_job_can_no_longer_download(
    job: Any, annotator: Any, annotator_api: Any
) -> None:
    from apps.labeling.models import JobMember

    export = finished(queued(annotator_api, job)["id"])
    JobMember.objects.filter(job=job, user=annotator).delete()

    assert annotator_api.get(f"/api/exports/{export.pk}/download/").status_code == 404


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("format=pdf", "invalid_request"),
        ("", "invalid_request"),
        ("format=coco&status=no", "invalid_request"),
    ],
)
def test_a_bad_request_for_a_large_export_is_400_and_queues_nothing(
    job: Any, manager_api: Any, query: str, code: str
) -> None:
    response = manager_api.get(f"/api/jobs/{job.pk}/export/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not Export.objects.exists() and not TaskRun.objects.exists()


def test_anonymous_requests_get_401(job: Any, manager_api: Any, client: Any) -> None:
    export = finished(queued(manager_api, job)["id"])

    for path in (f"/api/exports/{export.pk}/", f"/api/exports/{export.pk}/download/"):
        assert client.get(path).status_code == 401


# Progress on the job's socket -------------------------------------------------------------------------


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.mark.asyncio
async def test_progress_frames_reach_the_jobs_sockets_and_end_with_the_download(
    sockets: Sockets,
    job: Any,
    manager: Any,
    auditor: Any,
    manager_api: Any,
    make_user: Any,
    document: dict[str, Any],  # noqa: F811 - the fixture imported above
) -> None:
    from apps.labeling.services import job_create

    stranger = await database_sync_to_async(make_user)("stella_stranger")
    elsewhere = await database_sync_to_async(job_create)(
        name="Elsewhere", dataset=job.dataset, created_by=stranger
    )
    watcher = await sockets.job(auditor, job.pk)
    other = await sockets.job(stranger, elsewhere.pk)

    body = await database_sync_to_async(queued)(manager_api, job)

    first = await watcher.next("export_progress")
    assert (first["export_id"], first["status"], first["done"]) == (body["id"], "running", 0)
    assert first["total"] == 3
    frames = [first]
    while frames[-1]["status"] == "running":
        frames.append(await watcher.next("export_progress"))
    last = frames[-1]
    assert (last["status"], last["done"], last["total"]) == ("done", 3, 3)
    assert last["download_url"] == f"/api/exports/{body['id']}/download/"
    assert [frame["done"] for frame in frames] == sorted(frame["done"] for frame in frames)
    _check(document, frames, "job", "Server")  # as /api/asyncapi.json describes them
    assert await other.drain("export_progress") == []
    response = await database_sync_to_async(manager_api.get)(last["download_url"])
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_a_failed_export_sends_a_failed_frame(
    sockets: Sockets,
    job: Any,
    manager: Any,
    manager_api: Any,
    monkeypatch: Any,
    document: dict[str, Any],  # noqa: F811 - the fixture imported above
) -> None:
    from apps.interchange import exports

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the disk is full")

    monkeypatch.setattr(exports, "export_stream", broken)
    watcher = await sockets.job(manager, job.pk)

    body = await database_sync_to_async(queued)(manager_api, job)

    frame = await watcher.next("export_progress")
    while frame["status"] == "running":
        frame = await watcher.next("export_progress")
    assert (frame["export_id"], frame["status"]) == (body["id"], "failed")
    assert "the disk is full" in frame["error"]
    _check(document, [frame], "job", "Server")


def test_the_admin_shows_exports_read_only(job: Any, manager_api: Any, make_user: Any, client: Any) -> None:
    export = finished(queued(manager_api, job)["id"])
    client.force_login(make_user("root_admin", is_staff=True, is_superuser=True))

    listing = client.get("/admin/interchange/export/")
    page = client.get(f"/admin/interchange/export/{export.pk}/change/")

    assert listing.status_code == 200 and f"/admin/interchange/export/{export.pk}/" in listing.text
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert client.post(f"/admin/interchange/export/{export.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Export.objects.filter(pk=export.pk).exists()


def test_behind_nginx_the_download_is_handed_to_it_after_the_permission_check(
    job: Any, manager_api: Any, outsider_api: Any, settings: Any
) -> None:
    """With POLYLOG_MEDIA_ACCEL_PREFIX (make serve), Django checks who asks and answers an empty response
    naming the zip in X-Accel-Redirect with the headers it is to be sent with; nginx sends the bytes, from
    disk or the bucket, as it does for images (docs/deploy.md). A file gone from storage is still 410."""
    export = finished(queued(manager_api, job)["id"])
    settings.POLYLOG = {**settings.POLYLOG, "MEDIA_ACCEL_PREFIX": "/_polylog_media/"}

    response = manager_api.get(f"/api/exports/{export.pk}/download/")

    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/_polylog_media/{export.file}"
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    assert (response["X-Content-Type-Options"], "sandbox" in response["Content-Security-Policy"]) == (
        "nosniff",
        True,
    )
    assert outsider_api.get(f"/api/exports/{export.pk}/download/").status_code == 404  # checked first
    default_storage.delete(export.file)
    gone = manager_api.get(f"/api/exports/{export.pk}/download/")
    assert (gone.status_code, gone.json()["code"]) == (410, "export_expired")
