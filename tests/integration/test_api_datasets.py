"""/api/datasets/: members see the datasets of their jobs with image counts; staff see and create all."""

from __future__ import annotations

from typing import Any

import pytest

from apps.datasets.models import Dataset
from apps.labeling.models import Role
from apps.labeling.services import job_create, job_member_set
from tests.conftest import IMAGES

pytestmark = pytest.mark.django_db


def test_a_member_sees_the_dataset_of_their_job_with_its_image_count(job: Any, annotator_api: Any) -> None:
    response = annotator_api.get("/api/datasets/")

    assert response.status_code == 200
    [listed] = response.json()
    assert (listed["id"], listed["name"], listed["image_count"]) == (job.dataset_id, "Pets", len(IMAGES))


def test_a_non_member_sees_no_dataset(job: Any, outsider_api: Any) -> None:
    assert outsider_api.get("/api/datasets/").json() == []


def test_a_member_of_two_jobs_over_one_dataset_sees_it_once_with_the_right_count(
    job: Any, dataset: Any, manager: Any, annotator: Any, annotator_api: Any
) -> None:
    second = job_create(name="Second pass", dataset=dataset, created_by=manager)
    job_member_set(job=second, user=annotator, role=Role.ANNOTATOR)

    listed = annotator_api.get("/api/datasets/").json()

    assert [(d["id"], d["image_count"]) for d in listed] == [(dataset.pk, len(IMAGES))]


def test_staff_see_every_dataset(job: Any, staff: Any, staff_api: Any) -> None:
    Dataset.objects.create(name="Unused", created_by=staff)

    listed = {d["name"]: d["image_count"] for d in staff_api.get("/api/datasets/").json()}

    assert listed == {"Pets": len(IMAGES), "Unused": 0}


def test_staff_create_a_dataset(staff: Any, staff_api: Any) -> None:
    response = staff_api.post("/api/datasets/", {"name": "Birds", "description": "garden"}, format="json")

    assert response.status_code == 201
    assert response.json()["name"] == "Birds"
    assert response.json()["image_count"] == 0
    assert Dataset.objects.get(name="Birds").created_by == staff


def test_a_dataset_name_is_unique(job: Any, staff_api: Any) -> None:
    response = staff_api.post("/api/datasets/", {"name": "Pets"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_only_staff_create_datasets(manager_api: Any) -> None:
    response = manager_api.post("/api/datasets/", {"name": "Mine"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Dataset.objects.filter(name="Mine").exists()


def test_the_creator_of_a_dataset_without_jobs_sees_it_so_a_job_can_be_created_over_it(
    outsider: Any, outsider_api: Any
) -> None:
    from django.contrib.auth.models import Permission

    outsider.user_permissions.add(Permission.objects.get(codename="add_labelingjob"))
    mine = Dataset.objects.create(name="Fresh photos", created_by=outsider)

    listed = outsider_api.get("/api/datasets/").json()

    assert [(d["id"], d["image_count"]) for d in listed] == [(mine.pk, 0)]
    created = outsider_api.post("/api/jobs/", {"name": "Over my own", "dataset": mine.pk}, format="json")
    assert created.status_code == 201, created.json()
