"""/api/jobs/<id>/members/ and /api/jobs/<id>/members/<id>/."""

from __future__ import annotations

from typing import Any

import pytest

from apps.labeling.models import JobMember, Role

pytestmark = pytest.mark.django_db


def url(job: Any, member: Any | None = None) -> str:
    base = f"/api/jobs/{job.pk}/members/"
    return base if member is None else f"{base}{member.pk}/"


def member_of(job: Any, user: Any) -> Any:
    return JobMember.objects.get(job=job, user=user)


def test_members_see_who_is_in_the_job_and_their_roles(
    job: Any, manager: Any, annotator: Any, annotator2: Any, auditor: Any, auditor_api: Any
) -> None:
    response = auditor_api.get(url(job))

    assert response.status_code == 200
    listed = {(m["user"], m["username"], m["role"]) for m in response.json()}
    assert listed == {
        (manager.pk, manager.username, "manager"),
        (annotator.pk, annotator.username, "annotator"),
        (annotator2.pk, annotator2.username, "annotator"),
        (auditor.pk, auditor.username, "auditor"),
    }
    assert all(isinstance(m["id"], int) for m in response.json())


def test_a_manager_adds_a_member_by_username(
    job: Any, outsider: Any, manager_api: Any, client_for: Any
) -> None:
    response = manager_api.post(url(job), {"username": outsider.username, "role": "annotator"}, format="json")

    assert response.status_code == 201
    assert response.json()["username"] == outsider.username
    assert response.json()["role"] == "annotator"
    assert member_of(job, outsider).role == Role.ANNOTATOR
    assert client_for(outsider).get(f"/api/jobs/{job.pk}/").json()["role"] == "annotator"


def test_posting_an_existing_member_changes_their_role(job: Any, annotator: Any, manager_api: Any) -> None:
    before = member_of(job, annotator)

    response = manager_api.post(url(job), {"username": annotator.username, "role": "auditor"}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "id": before.pk,
        "user": annotator.pk,
        "username": annotator.username,
        "role": "auditor",
    }
    assert JobMember.objects.filter(job=job, user=annotator).count() == 1
    assert member_of(job, annotator).role == Role.AUDITOR


def test_a_promoted_member_may_then_manage(
    job: Any, annotator: Any, manager_api: Any, annotator_api: Any
) -> None:
    assert annotator_api.patch(f"/api/jobs/{job.pk}/", {"name": "x"}, format="json").status_code == 403

    manager_api.post(url(job), {"username": annotator.username, "role": "manager"}, format="json")

    assert annotator_api.patch(f"/api/jobs/{job.pk}/", {"name": "x"}, format="json").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": "nobody", "role": "annotator"},
        {"username": "ann_annotator", "role": "owner"},
        {"username": "ann_annotator"},
        {"role": "annotator"},
    ],
)
def test_adding_a_member_refuses_bad_input(job: Any, manager_api: Any, body: dict[str, Any]) -> None:
    response = manager_api.post(url(job), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert JobMember.objects.filter(job=job).count() == 4


def test_a_manager_removes_a_member_who_then_loses_access(
    job: Any, annotator: Any, manager_api: Any, annotator_api: Any
) -> None:
    response = manager_api.delete(url(job, member_of(job, annotator)))

    assert response.status_code == 204
    assert not JobMember.objects.filter(job=job, user=annotator).exists()
    assert annotator_api.get(f"/api/jobs/{job.pk}/").status_code == 404


def test_the_last_manager_cannot_be_removed(job: Any, manager: Any, manager_api: Any) -> None:
    response = manager_api.delete(url(job, member_of(job, manager)))

    assert response.status_code == 409
    assert response.json()["code"] == "last_manager"
    assert member_of(job, manager).role == Role.MANAGER


def test_a_manager_can_be_removed_while_another_remains(
    job: Any, manager: Any, annotator: Any, manager_api: Any
) -> None:
    manager_api.post(url(job), {"username": annotator.username, "role": "manager"}, format="json")

    response = manager_api.delete(url(job, member_of(job, manager)))

    assert response.status_code == 204
    assert list(JobMember.objects.filter(job=job, role=Role.MANAGER).values_list("user", flat=True)) == [
        annotator.pk
    ]


def test_the_last_manager_cannot_be_demoted(job: Any, manager: Any, manager_api: Any) -> None:
    """A job keeps at least one manager, whether the last one is removed or given a lesser role."""
    response = manager_api.post(url(job), {"username": manager.username, "role": "annotator"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "last_manager"
    assert member_of(job, manager).role == Role.MANAGER


def test_removing_a_member_of_another_job_is_not_found(
    job: Any, manager_api: Any, staff: Any, dataset: Any
) -> None:
    from apps.labeling.services import job_create

    other = job_create(name="Other", dataset=dataset, created_by=staff)

    response = manager_api.delete(url(job, member_of(other, staff)))

    assert response.status_code == 404
    assert member_of(other, staff)


def test_removing_an_unknown_member_answers_404_with_code_not_found(job: Any, manager_api: Any) -> None:
    response = manager_api.delete(f"/api/jobs/{job.pk}/members/999999/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("who", ["annotator_api", "auditor_api"])
def test_non_managers_may_not_change_members(
    job: Any, outsider: Any, auditor: Any, who: str, request: Any
) -> None:
    client = request.getfixturevalue(who)

    added = client.post(url(job), {"username": outsider.username, "role": "manager"}, format="json")
    removed = client.delete(url(job, member_of(job, auditor)))

    assert (added.status_code, removed.status_code) == (403, 403)
    assert added.json()["code"] == "permission_denied"
    assert not JobMember.objects.filter(job=job, user=outsider).exists()
    assert JobMember.objects.filter(job=job, user=auditor).exists()


def test_a_non_member_is_told_the_job_does_not_exist(job: Any, outsider: Any, outsider_api: Any) -> None:
    listed = outsider_api.get(url(job))
    joined = outsider_api.post(url(job), {"username": outsider.username, "role": "manager"}, format="json")

    assert (listed.status_code, joined.status_code) == (404, 404)
    assert not JobMember.objects.filter(job=job, user=outsider).exists()


def test_staff_may_manage_members_without_being_members(job: Any, outsider: Any, staff_api: Any) -> None:
    response = staff_api.post(url(job), {"username": outsider.username, "role": "auditor"}, format="json")

    assert response.status_code == 201
