"""Ground truth: a manager marks an accepted image, offers an annotator a copy (an ordinary item of the job,
assigned to them), and the report compares the copy they saved with the truth: per-object IoU, missed and
extra objects, label confusions (docs/review.md, Ground truth)."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import Polygon

from apps.labeling.models import Item, Role
from apps.labeling.services import job_member_set
from apps.review.ground_truth import compare, objects_of
from apps.review.models import Assignment
from apps.review.quality_models import GroundTruth, GroundTruthCopy
from tests.conftest import new_id, square
from tests.db_locks import JOIN, OnItsOwnConnection

pytestmark = pytest.mark.django_db

TRIANGLE = [[40, 10], [60, 10], [50, 30]]


@pytest.fixture
def reviewer(make_user: Any, job: Any) -> Any:
    user = make_user("rita")
    job_member_set(job=job, user=user, role=Role.REVIEWER)
    return user


def ok(sent: Any) -> Any:
    assert sent.status in (200, 201), sent.body
    return sent


@pytest.fixture
def truth(
    items: list[Any], labels: dict[str, Any], annotator: Any, reviewer: Any, client_for: Any, send: Any
) -> Any:
    """The bird image (64x48): a cat square and a dog triangle, saved by ann and accepted by rita."""
    bird = items[0]
    ann = client_for(annotator)
    ok(
        send(
            ann,
            bird.pk,
            {
                "type": "add_polygon",
                "shape_id": new_id(),
                "label_class_id": labels["cat"].pk,
                "points": square(10, 10, 20),
            },
        )
    )
    ok(
        send(
            ann,
            bird.pk,
            {
                "type": "add_polygon",
                "shape_id": new_id(),
                "label_class_id": labels["dog"].pk,
                "points": TRIANGLE,
            },
        )
    )
    ok(send(ann, bird.pk, {"type": "save"}))
    ok(send(client_for(reviewer), bird.pk, {"type": "accept_review"}))
    bird.refresh_from_db()
    return bird


def test_a_copy_labeled_by_an_annotator_is_compared_with_the_truth(
    job: Any,
    truth: Any,
    labels: dict[str, Any],
    manager_api: Any,
    annotator2: Any,
    client_for: Any,
    send: Any,
    auditor_api: Any,
) -> None:
    marked = manager_api.post(f"/api/jobs/{job.pk}/ground-truth/", {"item_ids": [truth.pk]}, format="json")
    assert marked.status_code == 200, marked.content
    assert [t["item_id"] for t in marked.json()["truths"]] == [truth.pk]
    assert GroundTruth.objects.get(item=truth).seq == truth.saved_seq
    items_before = manager_api.get(f"/api/jobs/{job.pk}/items/").json()["count"]

    offered = manager_api.post(
        f"/api/jobs/{job.pk}/ground-truth/copies/",
        {"item_id": truth.pk, "annotator": annotator2.pk},
        format="json",
    )
    assert offered.status_code == 201, offered.content
    copy = Item.objects.select_related("image").get(pk=offered.json()["item_id"])
    # An ordinary item of the job, over the same stored file, with the same name, assigned to bob.
    assert copy.job_id == job.pk and copy.image.file.name == truth.image.file.name
    assert copy.image.name == truth.image.name and copy.image_id != truth.image_id
    assert Assignment.objects.get(item=copy).annotator_id == annotator2.pk
    # Recorded as any assignment is: who gave whom the copy (the record names the image as it is named).
    record = manager_api.get(f"/api/jobs/{job.pk}/assignments/history/", {"item": copy.pk}).json()["results"]
    assert [(r["seat"], r["previous"], r["assignee"], r["changed_by"]) for r in record] == [
        ("annotator", None, annotator2.pk, job.created_by_id)
    ]
    listed = manager_api.get(f"/api/jobs/{job.pk}/items/").json()
    assert listed["count"] == items_before + 1
    assert copy.pk in [item["id"] for item in listed["results"]]
    assert auditor_api.get(f"/api/jobs/{job.pk}/ground-truth/").json()["pending"][0]["item_id"] == copy.pk

    # bob: the cat square 2 px to the right (IoU 360/440), the dog triangle labeled cat, and an extra square.
    bob = client_for(annotator2)
    for label, points in (("cat", square(12, 10, 20)), ("cat", TRIANGLE), ("dog", square(50, 35, 6))):
        ok(
            send(
                bob,
                copy.pk,
                {
                    "type": "add_polygon",
                    "shape_id": new_id(),
                    "label_class_id": labels[label].pk,
                    "points": points,
                },
            )
        )
    ok(send(bob, copy.pk, {"type": "save"}))

    report = auditor_api.get(f"/api/jobs/{job.pk}/ground-truth/").json()
    assert report["pending"] == []
    [person] = report["annotators"]
    assert person["id"] == annotator2.pk
    assert (person["truth_objects"], person["matched"], person["missed"], person["extra"]) == (2, 2, 0, 1)
    assert person["mean_iou"] == pytest.approx((360 / 440 + 1.0) / 2, abs=1e-4)
    assert person["confusions"] == [
        {
            "truth_label_id": labels["dog"].pk,
            "truth_label": "dog",
            "their_label_id": labels["cat"].pk,
            "their_label": "cat",
            "objects": 1,
        }
    ]
    [image] = person["images"]
    assert (
        image["item_id"] == copy.pk and image["replay_url"] == f"/items/{copy.pk}/replay/?seq={image['seq']}"
    )


def test_only_accepted_images_become_ground_truth_and_only_managers_mark(
    job: Any,
    items: list[Any],
    truth: Any,
    manager_api: Any,
    annotator_api: Any,
    outsider_api: Any,
    auditor: Any,
) -> None:
    url = f"/api/jobs/{job.pk}/ground-truth/"
    refused = manager_api.post(url, {"item_ids": [truth.pk, items[1].pk]}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "not_accepted"
    assert not GroundTruth.objects.exists()  # all or none
    assert annotator_api.post(url, {"item_ids": [truth.pk]}, format="json").status_code == 403
    assert outsider_api.post(url, {"item_ids": [truth.pk]}, format="json").status_code == 404
    assert manager_api.post(url, {"item_ids": []}, format="json").status_code == 400
    copies = f"/api/jobs/{job.pk}/ground-truth/copies/"
    not_truth = manager_api.post(copies, {"item_id": truth.pk, "annotator": auditor.pk}, format="json")
    assert not_truth.status_code == 400
    assert manager_api.post(url, {"item_ids": [truth.pk]}, format="json").status_code == 200
    to_auditor = manager_api.post(copies, {"item_id": truth.pk, "annotator": auditor.pk}, format="json")
    assert to_auditor.status_code == 400 and to_auditor.json()["code"] == "not_annotator"
    assert not GroundTruthCopy.objects.exists()


def test_matching_is_greedy_by_best_iou_and_needs_half_overlap() -> None:
    a = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])
    b = Polygon([(20, 0), (30, 0), (30, 10), (20, 10)])
    truth = [(1, a), (2, b)]
    # One drawn over a (IoU 0.81) and one a third over b (below 0.5: b missed, that one extra).
    theirs = [
        (1, Polygon([(1, 0), (11, 0), (11, 10), (1, 10)])),
        (2, Polygon([(26, 0), (36, 0), (36, 10), (26, 10)])),
    ]
    result = compare(truth, theirs)
    assert (len(result.ious), result.missed, result.extra) == (1, 1, 1)
    assert result.ious[0] == pytest.approx(90 / 110)


def test_an_object_in_pieces_is_one_object() -> None:
    from apps.labeling.domain.state import Shape

    pieces = [
        Shape("a", 1, ((0, 0), (5, 0), (5, 10), (0, 10)), True, 1, group_id="g"),
        Shape("b", 1, ((5, 0), (10, 0), (10, 10), (5, 10)), True, 1, group_id="g"),
        Shape("c", 1, ((20, 0), (30, 0), (30, 10)), True, 2),
    ]
    objects = objects_of(pieces)
    assert len(objects) == 2
    assert sorted(round(g.area) for _, g in objects) == [50, 100]


@pytest.mark.django_db(transaction=True)  # the queue's worker thread reads what the request committed
def test_an_export_holds_each_image_once_without_its_ground_truth_copies(
    job: Any,
    truth: Any,
    items: list[Any],
    manager_api: Any,
    annotator2: Any,
    settings: Any,
) -> None:
    """A copy is a second item over a twin of an image already in the job: the job's export (streamed
    or queued) holds the images of the job's dataset, each once, with the labels of its own item."""
    import io
    import json
    import zipfile

    from apps.interchange.models import Export
    from apps.tasks.services import task_wait

    marked = manager_api.post(f"/api/jobs/{job.pk}/ground-truth/", {"item_ids": [truth.pk]}, format="json")
    assert marked.status_code == 200, marked.content
    offered = manager_api.post(
        f"/api/jobs/{job.pk}/ground-truth/copies/",
        {"item_id": truth.pk, "annotator": annotator2.pk},
        format="json",
    )
    assert offered.status_code == 201, offered.content

    def names(archive: bytes) -> list[str]:
        coco = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("annotations/instances_default.json"))
        return sorted(image["file_name"] for image in coco["images"])

    streamed = manager_api.get(f"/api/jobs/{job.pk}/export/?format=coco")
    assert streamed.status_code == 200
    expected = sorted(item.image.path for item in items)
    assert names(b"".join(streamed.streaming_content)) == expected

    settings.POLYLOG = {**settings.POLYLOG, "EXPORT_QUEUE_ITEMS": 1}
    queued = manager_api.get(f"/api/jobs/{job.pk}/export/?format=coco")
    assert queued.status_code == 202
    export = Export.objects.get(pk=queued.json()["id"])
    task_wait(export.run_id, timeout=60)
    download = manager_api.get(f"/api/exports/{export.pk}/download/")
    assert download.status_code == 200, download.content
    assert names(b"".join(download.streaming_content)) == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_offering_a_copy_while_a_sync_holds_the_job_takes_its_turn_without_a_deadlock(
    job: Any, truth: Any, manager: Any, annotator2: Any
) -> None:
    """A sync (an import's end) locks the job's row, then adds to its item tally; offering a copy adds a
    job item and assigns it, which locks the job's row too. Offered while the sync holds the row, the copy
    must wait for the row before it touches the tally: the other way round, each waits for the other, and
    PostgreSQL kills one of them (the sync, or the manager's offer, fails with a deadlock)."""
    import threading

    from django.db import transaction

    from apps.labeling import store
    from apps.labeling.models import LabelingJob
    from apps.labeling.readmodels import ITEMS
    from apps.review.ground_truth import copy_offer

    GroundTruth.objects.create(job=job, item=truth, seq=truth.saved_seq, marked_by=manager)
    holding, held = threading.Event(), threading.Event()

    def sync() -> None:  # job_sync's locks, in its order, with the offer let in between
        with transaction.atomic():
            LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
            held.set()
            assert holding.wait(JOIN)
            store.job_tally_add(job.pk, {ITEMS: 1})

    syncing = OnItsOwnConnection(sync)
    assert held.wait(JOIN)
    offering = OnItsOwnConnection(
        lambda: copy_offer(job=job, truth_item_id=truth.pk, annotator=annotator2, by=manager)
    )
    offering.until_it_waits_on_a_lock()
    holding.set()
    syncing.join(JOIN)
    offering.join(JOIN)

    assert syncing.failures == offering.failures == []
    assert GroundTruthCopy.objects.filter(truth__item=truth).count() == 1
