"""/api/jobs/<id>/label-classes/ and /api/jobs/<id>/label-classes/<id>/."""

from __future__ import annotations

from typing import Any

import pytest

from apps.labeling.models import ItemLabel, LabelClass, StoredEvent

pytestmark = pytest.mark.django_db


def url(job: Any, label_class: Any | None = None) -> str:
    base = f"/api/jobs/{job.pk}/label-classes/"
    return base if label_class is None else f"{base}{label_class.pk}/"


def test_members_list_the_label_classes(job: Any, labels: dict[str, Any], auditor_api: Any) -> None:
    response = auditor_api.get(url(job))

    assert response.status_code == 200
    assert response.json() == [
        {"id": labels["cat"].pk, "name": "cat", "color": "#ff0000", "attributes": []},
        {"id": labels["dog"].pk, "name": "dog", "color": "#00aa00", "attributes": []},
    ]


def test_a_member_reads_one_label_class(job: Any, labels: dict[str, Any], annotator_api: Any) -> None:
    response = annotator_api.get(url(job, labels["dog"]))

    assert response.status_code == 200
    assert response.json() == {"id": labels["dog"].pk, "name": "dog", "color": "#00aa00", "attributes": []}


def test_a_manager_creates_a_label_class_with_its_colour_in_lower_case(job: Any, manager_api: Any) -> None:
    response = manager_api.post(url(job), {"name": "bird", "color": "#12AB9F"}, format="json")

    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "bird"
    assert created["color"] == "#12ab9f"
    assert LabelClass.objects.get(pk=created["id"]).color == "#12ab9f"


def test_a_manager_renames_a_label_class(job: Any, labels: dict[str, Any], manager_api: Any) -> None:
    response = manager_api.patch(url(job, labels["cat"]), {"name": "kitten"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"id": labels["cat"].pk, "name": "kitten", "color": "#ff0000", "attributes": []}
    labels["cat"].refresh_from_db()
    assert labels["cat"].name == "kitten"


def test_a_manager_recolours_a_label_class_in_lower_case(
    job: Any, labels: dict[str, Any], manager_api: Any
) -> None:
    response = manager_api.patch(url(job, labels["cat"]), {"color": "#ABCDEF"}, format="json")

    assert response.status_code == 200
    assert response.json()["color"] == "#abcdef"
    labels["cat"].refresh_from_db()
    assert (labels["cat"].name, labels["cat"].color) == ("cat", "#abcdef")


def test_renaming_a_label_class_to_its_own_name_is_allowed(
    job: Any, labels: dict[str, Any], manager_api: Any
) -> None:
    response = manager_api.patch(url(job, labels["cat"]), {"name": "cat", "color": "#000000"}, format="json")

    assert response.status_code == 200


def test_a_duplicate_name_on_create_is_refused(job: Any, manager_api: Any) -> None:
    response = manager_api.post(url(job), {"name": "cat", "color": "#123456"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "label_class_exists"
    assert LabelClass.objects.filter(job=job, name="cat").count() == 1


def test_a_duplicate_name_on_rename_is_refused(job: Any, labels: dict[str, Any], manager_api: Any) -> None:
    response = manager_api.patch(url(job, labels["dog"]), {"name": "cat"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "label_class_exists"
    labels["dog"].refresh_from_db()
    assert labels["dog"].name == "dog"


def test_the_same_name_in_another_job_is_fine(
    job: Any, manager_api: Any, staff_api: Any, dataset: Any
) -> None:
    other = staff_api.post("/api/jobs/", {"name": "Other", "dataset": dataset.pk}, format="json").json()

    response = staff_api.post(f"/api/jobs/{other['id']}/label-classes/", {"name": "cat", "color": "#111111"})

    assert response.status_code == 201


@pytest.mark.parametrize("color", ["red", "#12345", "#1234567", "#GGGGGG", "123456", ""])
def test_a_bad_colour_is_refused(job: Any, manager_api: Any, color: str) -> None:
    response = manager_api.post(url(job), {"name": "bird", "color": color}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert not LabelClass.objects.filter(job=job, name="bird").exists()


def test_a_bad_colour_on_update_is_refused(job: Any, labels: dict[str, Any], manager_api: Any) -> None:
    response = manager_api.patch(url(job, labels["cat"]), {"color": "blue"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    labels["cat"].refresh_from_db()
    assert labels["cat"].color == "#ff0000"


def test_a_missing_or_blank_name_is_refused(job: Any, manager_api: Any) -> None:
    assert manager_api.post(url(job), {"color": "#123456"}, format="json").status_code == 400
    assert manager_api.post(url(job), {"name": "  ", "color": "#123456"}, format="json").status_code == 400


def test_an_unused_label_class_is_deleted(job: Any, labels: dict[str, Any], manager_api: Any) -> None:
    response = manager_api.delete(url(job, labels["dog"]))

    assert response.status_code == 204
    assert not LabelClass.objects.filter(pk=labels["dog"].pk).exists()
    assert StoredEvent.objects.count() == 0


def test_a_label_class_in_use_is_not_deleted(
    job: Any, item: Any, labels: dict[str, Any], manager_api: Any, annotator_api: Any, add_polygon: Any
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)

    response = manager_api.delete(url(job, labels["cat"]))

    assert response.status_code == 409
    assert response.json()["code"] == "label_class_in_use"
    assert LabelClass.objects.filter(pk=labels["cat"].pk).exists()
    assert StoredEvent.objects.filter(item=item).count() == 1


def test_a_cascade_delete_removes_the_shapes_through_events_then_the_class(
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    manager: Any,
    manager_api: Any,
    annotator_api: Any,
    add_polygon: Any,
) -> None:
    cat, dog = labels["cat"], labels["dog"]
    first, second, untouched = items
    cat_shapes = [
        add_polygon(annotator_api, first.pk, cat.pk).body,
        add_polygon(annotator_api, second.pk, cat.pk).body,
    ]
    add_polygon(annotator_api, second.pk, dog.pk, points=[[30, 30], [40, 30], [40, 40]])

    response = manager_api.delete(url(job, cat) + "?cascade=true")

    assert response.status_code == 204
    assert not LabelClass.objects.filter(pk=cat.pk).exists()
    for changed, added in zip([first, second], cat_shapes, strict=True):
        events = annotator_api.get(f"/api/items/{changed.pk}/events/").json()["results"]
        last = events[-1]
        assert last["type"] == "label_shapes_deleted"
        assert last["actor"] == manager.pk
        assert last["payload"]["label_class_id"] == cat.pk
        assert last["payload"]["shape_ids"] == [added["events"][0]["payload"]["shape_id"]]
    assert StoredEvent.objects.filter(item=untouched).count() == 0
    state = annotator_api.get(f"/api/items/{second.pk}/state/").json()
    assert [s["label_class_id"] for s in state["shapes"]] == [dog.pk]
    second.refresh_from_db()
    assert (second.shape_count, second.label_class_ids) == (1, [dog.pk])
    assert not ItemLabel.objects.filter(label_class_id=cat.pk).exists()


def test_after_a_cascade_delete_no_item_lists_the_deleted_class(
    job: Any, item: Any, labels: dict[str, Any], manager_api: Any, annotator_api: Any, add_polygon: Any
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)

    manager_api.delete(url(job, labels["cat"]) + "?cascade=true")

    listed = manager_api.get(f"/api/jobs/{job.pk}/items/").json()
    assert all(labels["cat"].pk not in i["label_class_ids"] for i in listed["results"])
    assert str(labels["cat"].pk) not in listed["label_counts"]


@pytest.mark.django_db(transaction=True)
def test_discarding_changes_after_a_cascade_delete_does_not_bring_back_a_deleted_class(
    job: Any,
    item: Any,
    labels: dict[str, Any],
    manager_api: Any,
    annotator_api: Any,
    add_polygon: Any,
    send: Any,
) -> None:
    """A saved cat shape, then the cat class is deleted with its shapes: discarding back to the save must
    not resurrect a shape whose label class no longer exists (nor fail with a server error)."""
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    send(annotator_api, item.pk, {"type": "save"})
    manager_api.delete(url(job, labels["cat"]) + "?cascade=true")

    sent = send(annotator_api, item.pk, {"type": "discard_changes"})

    assert sent.status < 500, (sent.status, sent.body)
    state = annotator_api.get(f"/api/items/{item.pk}/state/").json()
    known = set(LabelClass.objects.filter(job=job).values_list("id", flat=True))
    assert {s["label_class_id"] for s in state["shapes"]} <= known


def test_delete_refuses_a_bad_cascade_flag(job: Any, labels: dict[str, Any], manager_api: Any) -> None:
    response = manager_api.delete(url(job, labels["dog"]) + "?cascade=maybe")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert LabelClass.objects.filter(pk=labels["dog"].pk).exists()


def test_a_label_class_of_another_job_is_not_found(
    job: Any, labels: dict[str, Any], staff_api: Any, dataset: Any
) -> None:
    other = staff_api.post("/api/jobs/", {"name": "Other", "dataset": dataset.pk}, format="json").json()

    response = staff_api.patch(f"/api/jobs/{other['id']}/label-classes/{labels['cat'].pk}/", {"name": "x"})

    assert response.status_code == 404
    labels["cat"].refresh_from_db()
    assert labels["cat"].name == "cat"


def test_an_unknown_label_class_answers_404_with_code_not_found(job: Any, manager_api: Any) -> None:
    response = manager_api.get(f"/api/jobs/{job.pk}/label-classes/999999/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("who, status", [("annotator_api", 403), ("auditor_api", 403), ("outsider_api", 404)])
def test_only_managers_may_write_label_classes(
    job: Any, labels: dict[str, Any], who: str, status: int, request: Any
) -> None:
    client = request.getfixturevalue(who)

    created = client.post(url(job), {"name": "bird", "color": "#123456"}, format="json")
    renamed = client.patch(url(job, labels["cat"]), {"name": "kitten"}, format="json")
    deleted = client.delete(url(job, labels["dog"]))

    assert [created.status_code, renamed.status_code, deleted.status_code] == [status] * 3
    assert created.json()["code"] == ("permission_denied" if status == 403 else "not_found")
    assert sorted(LabelClass.objects.filter(job=job).values_list("name", flat=True)) == ["cat", "dog"]


def test_staff_may_write_label_classes(job: Any, staff_api: Any) -> None:
    assert staff_api.post(url(job), {"name": "bird", "color": "#123456"}, format="json").status_code == 201


def test_a_non_member_cannot_read_label_classes(job: Any, outsider_api: Any) -> None:
    assert outsider_api.get(url(job)).status_code == 404
