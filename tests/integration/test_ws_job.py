"""A job's websocket: an item frame after each change of an item, the job's counts when statuses or labels
change, and items_added after a sync."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async

from tests.conftest import new_id, png_bytes, square
from tests.integration.test_ws_support import Sockets, polygon, post_command

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@database_sync_to_async
def rest_item(client: Any, job_id: int, item_id: int) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job_id}/items/", {"page_size": 500})
    assert response.status_code == 200, response.content
    return next(row for row in response.json()["results"] if row["id"] == item_id)


@database_sync_to_async
def rest_counts(client: Any, job_id: int) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job_id}/items/")
    assert response.status_code == 200, response.content
    body = response.json()
    return {k: body[k] for k in ("status_counts", "review_counts", "label_counts")}


@database_sync_to_async
def add_image_and_sync(client: Any, job: Any, path: str) -> dict[str, Any]:
    from apps.datasets.services import image_create

    image_create(dataset=job.dataset, path=path, content=png_bytes(40, 30))
    response = client.post(f"/api/jobs/{job.pk}/sync/")
    assert response.status_code == 200, response.content
    return response.json()


async def test_saving_a_shape_sends_the_item_and_the_new_counts(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator: Any, manager: Any, manager_api: Any
) -> None:
    watcher = await sockets.job(manager, job.pk)
    drawer = await sockets.item(annotator, item.pk)
    cat = str(labels["cat"].pk)

    await drawer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    drawn = await watcher.next("item")
    drawn_counts = await watcher.next("counts")
    await drawer.command({"type": "save"}, new_id())
    saved = await watcher.next("item")
    saved_counts = await watcher.next("counts")

    assert drawn["item"]["id"] == saved["item"]["id"] == item.pk
    assert (drawn["item"]["seq"], drawn["item"]["shape_count"]) == (1, 1)
    assert drawn["item"]["label_class_ids"] == [labels["cat"].pk]
    assert drawn_counts["status_counts"] == {"all": 3, "unlabeled": 3, "labeled": 0}
    assert drawn_counts["label_counts"] == {cat: 1}
    assert (saved["item"]["seq"], saved["item"]["status"]) == (2, "labeled")
    assert saved_counts["status_counts"] == {"all": 3, "unlabeled": 2, "labeled": 1}
    assert saved_counts["label_counts"] == {cat: 1}
    assert saved_counts == {"type": "counts", **await rest_counts(manager_api, job.pk)}
    assert await watcher.drain("item", "counts", "error") == []


async def test_a_change_a_job_page_does_not_show_sends_nothing_to_the_job_socket(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator: Any, manager: Any
) -> None:
    drawer = await sockets.item(annotator, item.pk)
    watcher = await sockets.job(manager, job.pk)

    await drawer.command({"type": "add_vertex", "shape_id": new_id(), "x": 50, "y": 50}, new_id())
    await drawer.command({"type": "add_vertex", "shape_id": new_id(), "x": 60, "y": 50}, new_id())
    await drawer.command({"type": "mark_hard_example"}, new_id())
    marked = await watcher.next("item")

    # The drafts' vertices changed nothing a job page shows (no closed shape, no badge); the mark did.
    assert (marked["item"]["seq"], marked["item"]["hard_example"]) == (3, True)
    assert await watcher.drain("item", "counts") == []


async def test_moving_a_closed_shape_sends_the_item_for_its_thumbnail_overlay(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator: Any, manager: Any
) -> None:
    shape_id = new_id()
    drawer = await sockets.item(annotator, item.pk)
    await drawer.command(polygon(shape_id, labels["cat"].pk, square(5, 5, 10)), new_id())
    watcher = await sockets.job(manager, job.pk)

    await drawer.command({"type": "move_shape", "shape_id": shape_id, "dx": 3, "dy": 4}, new_id())
    moved = await watcher.next("item")
    await drawer.command({"type": "move_vertex", "shape_id": shape_id, "index": 0, "x": 1, "y": 1}, new_id())
    bent = await watcher.next("item")

    # Nothing on the tile's badges changed, but the outline its overlay draws did: the new seq says so.
    assert (moved["item"]["seq"], moved["item"]["shape_count"]) == (2, 1)
    assert bent["item"]["seq"] == 3
    assert await watcher.drain("item", "counts") == []


async def test_deleting_every_shape_and_saving_brings_the_counts_back(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator: Any, manager: Any
) -> None:
    drawer = await sockets.item(annotator, item.pk)
    await drawer.command(polygon(new_id(), labels["dog"].pk, square(5, 5, 10)), new_id())
    await drawer.command({"type": "save"}, new_id())
    watcher = await sockets.job(manager, job.pk)

    await drawer.command({"type": "delete_all_shapes"}, new_id())
    emptied = await watcher.next("counts")
    await drawer.command({"type": "save"}, new_id())
    unlabeled = await watcher.next("counts")

    assert emptied["label_counts"] == {}
    assert emptied["status_counts"]["labeled"] == 1  # the status follows saves
    assert unlabeled["status_counts"] == {"all": 3, "unlabeled": 3, "labeled": 0}


async def test_a_command_over_rest_reaches_the_job_socket(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator_api: Any, annotator2: Any
) -> None:
    watcher = await sockets.job(annotator2, job.pk)

    await post_command(annotator_api, item.pk, polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), "r1")

    assert (await watcher.next("item"))["item"]["id"] == item.pk
    assert (await watcher.next("counts"))["label_counts"] == {str(labels["cat"].pk): 1}


async def test_a_sync_that_adds_items_sends_items_added_and_counts(
    sockets: Sockets, job: Any, manager: Any, manager_api: Any, auditor: Any
) -> None:
    watcher = await sockets.job(auditor, job.pk)

    result = await add_image_and_sync(manager_api, job, "fish_004.png")
    added = await watcher.next("items_added")
    counts = await watcher.next("counts")
    again = await add_image_and_sync(manager_api, job, "fish_005.png")
    added_again = await watcher.next("items_added")

    assert result == {"added": 1, "total": 4}
    assert added == {"type": "items_added", "added": 1, "total": 4}
    assert counts["status_counts"] == {"all": 4, "unlabeled": 4, "labeled": 0}
    assert again == {"added": 1, "total": 5}
    assert added_again == {"type": "items_added", "added": 1, "total": 5}


async def test_an_import_running_in_its_own_thread_reaches_the_job_socket(
    sockets: Sockets, job: Any, manager_api: Any, auditor: Any
) -> None:
    """The in-memory channel layer lives in the consumers' loop; the import's worker thread hands its
    broadcast (items_added after the automatic sync) to that loop."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.datasets.imports import import_wait

    watcher = await sockets.job(auditor, job.pk)

    @database_sync_to_async
    def upload() -> int:
        files = {"files": [SimpleUploadedFile("fish_006.png", png_bytes(30, 20, (6, 5, 4)))]}
        response = manager_api.post(f"/api/datasets/{job.dataset_id}/imports/", files, format="multipart")
        assert response.status_code == 202, response.content
        return response.json()["id"]

    import_id = await upload()
    added = await watcher.next("items_added")
    await database_sync_to_async(import_wait)(import_id, 30)

    assert added == {"type": "items_added", "added": 1, "total": 4}


async def test_a_sync_that_adds_nothing_sends_nothing(
    sockets: Sockets, job: Any, manager: Any, manager_api: Any
) -> None:
    watcher = await sockets.job(manager, job.pk)

    response = await database_sync_to_async(manager_api.post)(f"/api/jobs/{job.pk}/sync/")

    assert response.json() == {"added": 0, "total": 3}
    assert await watcher.drain("items_added", "counts") == []


async def test_the_item_frame_speaks_the_item_lists_vocabulary(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator: Any, manager: Any, manager_api: Any
) -> None:
    watcher = await sockets.job(manager, job.pk)
    drawer = await sockets.item(annotator, item.pk)
    await drawer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    await drawer.command({"type": "save"}, new_id())
    await watcher.next("item")
    saved = (await watcher.next("item"))["item"]

    listed = await rest_item(manager_api, job.pk, item.pk)

    shared = {"id", "seq", "status", "shape_count", "label_class_ids", "hard_example", "saved_seq"}
    assert {name: saved[name] for name in shared} == {name: listed[name] for name in shared}


async def test_the_item_frame_names_the_labeler_as_the_item_list_does(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator: Any, manager: Any, manager_api: Any
) -> None:
    watcher = await sockets.job(manager, job.pk)
    drawer = await sockets.item(annotator, item.pk)
    await drawer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    await drawer.command({"type": "save"}, new_id())
    await watcher.next("item")
    saved = (await watcher.next("item"))["item"]

    listed = await rest_item(manager_api, job.pk, item.pk)

    assert listed["labeled_by"] == annotator.pk
    assert set(saved) <= set(listed)
    assert {name: listed[name] for name in saved} == saved


async def test_a_job_watcher_hears_nothing_of_another_job(
    sockets: Sockets, job: Any, item: Any, labels: Any, annotator: Any, make_user: Any
) -> None:
    from apps.datasets.models import Dataset
    from apps.labeling.services import job_create

    @database_sync_to_async
    def second_job() -> Any:
        owner = make_user("olga_other_owner")
        dataset = Dataset.objects.create(name="Empty", created_by=owner)
        return owner, job_create(name="Other job", dataset=dataset, created_by=owner)

    owner, other = await second_job()
    elsewhere = await sockets.job(owner, other.pk)
    drawer = await sockets.item(annotator, item.pk)

    await drawer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    await drawer.command({"type": "save"}, new_id())

    assert await elsewhere.drain("item", "counts", "items_added") == []


async def test_a_frame_that_names_another_job_is_answered_wrong_job(
    sockets: Sockets, job: Any, manager: Any
) -> None:
    watcher = await sockets.job(manager, job.pk)

    await watcher.send({"type": "ping", "job_id": job.pk + 1})
    wrong = await watcher.next("error", "pong")
    await watcher.send({"type": "ping", "job_id": job.pk})
    right = await watcher.next("error", "pong")

    assert (wrong["type"], wrong["code"]) == ("error", "wrong_job")
    assert right == {"type": "pong"}


async def test_label_class_changes_reach_job_and_item_sockets(
    sockets: Sockets, job: Any, item: Any, labels: Any, manager_api: Any, annotator: Any, auditor: Any
) -> None:
    on_item = await sockets.item(annotator, item.pk)
    on_job = await sockets.job(auditor, job.pk)

    @database_sync_to_async
    def rename() -> None:
        response = manager_api.patch(
            f"/api/jobs/{job.pk}/label-classes/{labels['cat'].pk}/",
            {"name": "kitten", "color": "#123456"},
            format="json",
        )
        assert response.status_code == 200, response.content

    await rename()
    seen_on_item = await on_item.next("label_classes")
    seen_on_job = await on_job.next("label_classes")

    assert seen_on_item == seen_on_job
    assert {"id": labels["cat"].pk, "name": "kitten", "color": "#123456", "attributes": []} in seen_on_item[
        "label_classes"
    ]
    assert {c["name"] for c in seen_on_item["label_classes"]} == {"kitten", "dog"}
