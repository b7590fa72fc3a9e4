"""/api/jobs/, /api/jobs/<id>/ and /api/jobs/<id>/sync/."""

from __future__ import annotations

from typing import Any

import pytest

from apps.datasets.models import Dataset
from apps.datasets.services import image_create
from apps.labeling.models import Item, JobMember, Role
from apps.labeling.services import job_create
from tests.conftest import IMAGES, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_job(staff: Any) -> Any:
    """A job nobody but staff belongs to, over a dataset of one image."""
    dataset = Dataset.objects.create(name="Cars", created_by=staff)
    image_create(dataset=dataset, path="car.png", content=png_bytes(30, 20))
    return job_create(name="Cars", dataset=dataset, created_by=staff)


def by_id(jobs: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {j["id"]: j for j in jobs}


# List ---------------------------------------------------------------------------------------------


def test_the_list_shows_only_the_jobs_a_user_is_member_of(
    job: Any, other_job: Any, annotator_api: Any, outsider_api: Any
) -> None:
    response = annotator_api.get("/api/jobs/")

    assert response.status_code == 200
    assert list(by_id(response.json())) == [job.pk]
    assert outsider_api.get("/api/jobs/").json() == []


def test_the_list_gives_each_job_its_progress_role_and_label_classes(
    job: Any, labels: dict[str, Any], annotator_api: Any, auditor_api: Any
) -> None:
    listed = annotator_api.get("/api/jobs/").json()[0]

    assert listed["name"] == "Pets segmentation"
    assert listed["job_type"] == "image_segmentation"
    assert listed["dataset"] == job.dataset_id
    assert listed["dataset_name"] == "Pets"
    assert listed["role"] == "annotator"
    assert listed["progress"] == {"labeled": 0, "total": len(IMAGES)}
    assert [(c["name"], c["color"]) for c in listed["label_classes"]] == [
        ("cat", "#ff0000"),
        ("dog", "#00aa00"),
    ]
    assert auditor_api.get("/api/jobs/").json()[0]["role"] == "auditor"


def test_progress_counts_the_items_whose_save_holds_a_shape(
    job: Any, items: list[Any], labels: dict[str, Any], annotator_api: Any, send: Any, add_polygon: Any
) -> None:
    add_polygon(annotator_api, items[0].pk, labels["cat"].pk)
    send(annotator_api, items[0].pk, {"type": "save"})
    send(annotator_api, items[1].pk, {"type": "save"})  # a save of nothing labels nothing

    listed = annotator_api.get("/api/jobs/").json()[0]

    assert listed["progress"] == {"labeled": 1, "total": len(IMAGES)}


def test_staff_see_every_job_as_managers(job: Any, other_job: Any, staff_api: Any) -> None:
    jobs = by_id(staff_api.get("/api/jobs/").json())

    assert set(jobs) == {job.pk, other_job.pk}
    assert {j["role"] for j in jobs.values()} == {"manager"}
    assert jobs[other_job.pk]["progress"] == {"labeled": 0, "total": 1}


# Create -------------------------------------------------------------------------------------------


def test_staff_create_a_job_as_its_manager_with_an_item_per_image(
    dataset: Any, staff: Any, staff_api: Any
) -> None:
    response = staff_api.post(
        "/api/jobs/",
        {
            "name": "New job",
            "description": "outline every pet",
            "dataset": dataset.pk,
            "label_classes": [{"name": "cat", "color": "#ABCDEF"}],
        },
        format="json",
    )

    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "New job"
    assert created["description"] == "outline every pet"
    assert created["role"] == "manager"
    assert created["progress"] == {"labeled": 0, "total": len(IMAGES)}
    assert [(c["name"], c["color"]) for c in created["label_classes"]] == [("cat", "#abcdef")]
    assert JobMember.objects.get(job_id=created["id"]).user == staff
    assert JobMember.objects.get(job_id=created["id"]).role == Role.MANAGER
    assert sorted(Item.objects.filter(job_id=created["id"]).values_list("image_id", flat=True)) == sorted(
        dataset.images.values_list("id", flat=True)
    )


def test_a_non_staff_user_may_not_create_a_job(dataset: Any, manager_api: Any) -> None:
    response = manager_api.post("/api/jobs/", {"name": "Mine", "dataset": dataset.pk}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "No dataset"},
        {"name": "Missing dataset", "dataset": 999999},
        {"name": "", "dataset": "DATASET"},
        {"name": "Bad colour", "dataset": "DATASET", "label_classes": [{"name": "a", "color": "red"}]},
        {
            "name": "Twice",
            "dataset": "DATASET",
            "label_classes": [{"name": "a", "color": "#000000"}, {"name": "a", "color": "#ffffff"}],
        },
        {"name": "Unknown type", "dataset": "DATASET", "job_type": "video_tracking"},
    ],
)
def test_creating_a_job_refuses_invalid_input(dataset: Any, staff_api: Any, body: dict[str, Any]) -> None:
    body = {k: dataset.pk if v == "DATASET" else v for k, v in body.items()}

    response = staff_api.post("/api/jobs/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["message"]


def test_creating_a_job_refuses_a_body_that_is_not_an_object(staff_api: Any) -> None:
    response = staff_api.post("/api/jobs/", [1, 2], format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


# Read and update ----------------------------------------------------------------------------------


def test_a_member_reads_a_job_with_their_role(job: Any, auditor_api: Any) -> None:
    response = auditor_api.get(f"/api/jobs/{job.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == job.pk
    assert response.json()["role"] == "auditor"


def test_a_non_member_is_told_the_job_does_not_exist(job: Any, outsider_api: Any) -> None:
    response = outsider_api.get(f"/api/jobs/{job.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_job_is_not_found(job: Any, manager_api: Any) -> None:
    assert manager_api.get(f"/api/jobs/{job.pk + 1000}/").status_code == 404


def test_a_manager_updates_the_name_and_description(job: Any, manager_api: Any) -> None:
    response = manager_api.patch(
        f"/api/jobs/{job.pk}/", {"name": "Renamed", "description": "new words"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert response.json()["description"] == "new words"
    job.refresh_from_db()
    assert (job.name, job.description) == ("Renamed", "new words")


def test_an_update_leaves_read_only_fields_alone(job: Any, manager_api: Any, other_job: Any) -> None:
    response = manager_api.patch(
        f"/api/jobs/{job.pk}/", {"dataset": other_job.dataset_id, "job_type": "x"}, format="json"
    )

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.dataset_id != other_job.dataset_id
    assert job.job_type == "image_segmentation"


def test_staff_who_are_not_members_may_update_a_job(job: Any, staff_api: Any) -> None:
    response = staff_api.patch(f"/api/jobs/{job.pk}/", {"name": "By staff"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "By staff"


@pytest.mark.parametrize("who", ["annotator_api", "auditor_api"])
def test_annotators_and_auditors_may_not_update_a_job(job: Any, who: str, request: Any) -> None:
    client = request.getfixturevalue(who)

    response = client.patch(f"/api/jobs/{job.pk}/", {"name": "Mine now"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    job.refresh_from_db()
    assert job.name == "Pets segmentation"


def test_a_non_member_updating_a_job_is_told_it_does_not_exist(job: Any, outsider_api: Any) -> None:
    response = outsider_api.patch(f"/api/jobs/{job.pk}/", {"name": "Mine now"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_update_refuses_an_empty_name(job: Any, manager_api: Any) -> None:
    response = manager_api.patch(f"/api/jobs/{job.pk}/", {"name": ""}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


# Sync ---------------------------------------------------------------------------------------------


def test_sync_adds_nothing_when_every_image_has_an_item(job: Any, manager_api: Any) -> None:
    response = manager_api.post(f"/api/jobs/{job.pk}/sync/")

    assert response.status_code == 200
    assert response.json() == {"added": 0, "total": len(IMAGES)}


def test_sync_adds_items_for_new_dataset_images_once(job: Any, manager_api: Any) -> None:
    new = image_create(dataset=job.dataset, path="new/fox_004.png", content=png_bytes(50, 40))
    image_create(dataset=job.dataset, path="new/owl_005.png", content=png_bytes(40, 50))

    first = manager_api.post(f"/api/jobs/{job.pk}/sync/")
    second = manager_api.post(f"/api/jobs/{job.pk}/sync/")

    assert first.status_code == 200
    assert first.json() == {"added": 2, "total": len(IMAGES) + 2}
    assert second.json() == {"added": 0, "total": len(IMAGES) + 2}
    assert Item.objects.filter(job=job, image=new).count() == 1
    assert manager_api.get(f"/api/jobs/{job.pk}/").json()["progress"]["total"] == len(IMAGES) + 2


def test_sync_leaves_other_jobs_alone(job: Any, other_job: Any, manager_api: Any) -> None:
    image_create(dataset=job.dataset, path="fox.png", content=png_bytes(50, 40))

    manager_api.post(f"/api/jobs/{job.pk}/sync/")

    assert Item.objects.filter(job=other_job).count() == 1


@pytest.mark.parametrize("who, status", [("annotator_api", 403), ("auditor_api", 403), ("outsider_api", 404)])
def test_only_managers_may_sync(job: Any, who: str, status: int, request: Any) -> None:
    image_create(dataset=job.dataset, path="fox.png", content=png_bytes(50, 40))

    response = request.getfixturevalue(who).post(f"/api/jobs/{job.pk}/sync/")

    assert response.status_code == status
    assert Item.objects.filter(job=job).count() == len(IMAGES)
