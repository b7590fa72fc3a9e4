"""Attributes through the API: a manager declares them on a label class (refused declarations change
nothing), people set values with set_attributes over REST, the state and the events show them, and a
value the declaration does not take is a 422 that stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from apps.labeling.models import LabelClass, StoredEvent
from tests.conftest import new_id, square

pytestmark = pytest.mark.django_db

CAR = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "colour", "kind": "select", "options": ["red", "blue"], "default": "blue"},
    {"name": "doors", "kind": "number", "min": 2, "max": 5},
]


def classes_url(job: Any, label_class: Any | None = None) -> str:
    base = f"/api/jobs/{job.pk}/label-classes/"
    return base if label_class is None else f"{base}{label_class.pk}/"


@pytest.fixture
def declared(job: Any, labels: dict[str, Any], manager_api: Any) -> Any:
    """The cat class with CAR's attributes, declared through the API."""
    response = manager_api.patch(classes_url(job, labels["cat"]), {"attributes": CAR}, format="json")
    assert response.status_code == 200, response.content
    return labels["cat"]


@pytest.fixture
def shape(item: Any, declared: Any, annotator_api: Any, send: Any) -> str:
    shape_id = new_id()
    command = {"type": "add_polygon", "shape_id": shape_id, "label_class_id": declared.pk}
    sent = send(annotator_api, item.pk, {**command, "points": square(10, 10, 20)})
    assert sent.status == 201
    return shape_id


def test_a_manager_declares_attributes_and_members_read_them_in_their_normal_form(
    job: Any, declared: Any, auditor_api: Any
) -> None:
    [cat] = [c for c in auditor_api.get(classes_url(job)).json() if c["id"] == declared.pk]

    assert cat["attributes"] == [
        {"name": "occluded", "kind": "checkbox", "default": False},
        {"name": "colour", "kind": "select", "default": "blue", "options": ["red", "blue"]},
        {"name": "doors", "kind": "number", "default": 2.0, "min": 2.0, "max": 5.0},
    ]


def test_a_label_class_is_created_with_attributes(job: Any, manager_api: Any) -> None:
    response = manager_api.post(
        classes_url(job), {"name": "car", "color": "#123456", "attributes": CAR[:1]}, format="json"
    )

    assert response.status_code == 201
    assert LabelClass.objects.get(pk=response.json()["id"]).attributes == [
        {"name": "occluded", "kind": "checkbox", "default": False}
    ]


@pytest.mark.parametrize(
    "attributes",
    [
        [{"name": "x", "kind": "colour"}],
        [{"name": "x", "kind": "select", "options": []}],
        [{"name": "x", "kind": "number", "min": 5, "max": 1}],
        "occluded",
    ],
)
def test_a_declaration_that_cannot_mean_anything_is_a_400_and_the_class_keeps_its_own(
    job: Any, declared: Any, manager_api: Any, attributes: Any
) -> None:
    response = manager_api.patch(classes_url(job, declared), {"attributes": attributes}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] and body["message"]
    assert "attributes" in str(body)
    declared.refresh_from_db()
    assert [a["name"] for a in declared.attributes] == ["occluded", "colour", "doors"]


def test_an_annotator_may_not_declare_attributes(
    job: Any, labels: dict[str, Any], annotator_api: Any
) -> None:
    response = annotator_api.patch(classes_url(job, labels["cat"]), {"attributes": CAR}, format="json")

    assert response.status_code == 403
    labels["cat"].refresh_from_db()
    assert labels["cat"].attributes == []


def test_set_attributes_over_rest_shows_in_the_state_and_the_events(
    item: Any, shape: str, annotator_api: Any, auditor_api: Any, send: Any
) -> None:
    command = {"type": "set_attributes", "shape_id": shape, "values": {"occluded": True, "doors": 4}}

    sent = send(annotator_api, item.pk, command)

    assert sent.status == 201
    [event] = sent.body["events"]
    assert (event["type"], event["payload"]) == (
        "attributes_set",
        {"shape_id": shape, "values": {"doors": 4.0, "occluded": True}},
    )
    state = auditor_api.get(f"/api/items/{item.pk}/state/").json()
    [seen] = [s for s in state["shapes"] if s["id"] == shape]
    assert seen["attributes"] == {"doors": 4.0, "occluded": True}


@pytest.mark.parametrize(
    "values, code",
    [
        ({"colour": "green"}, "invalid_attribute_value"),
        ({"doors": 9}, "invalid_attribute_value"),
        ({"wheels": 4}, "unknown_attribute"),
    ],
)
def test_a_value_the_class_does_not_take_is_a_422_that_stores_nothing(
    item: Any, shape: str, annotator_api: Any, send: Any, values: dict, code: str
) -> None:
    before = StoredEvent.objects.filter(item=item).count()

    sent = send(annotator_api, item.pk, {"type": "set_attributes", "shape_id": shape, "values": values})

    assert sent.status == 422
    assert sent.body["code"] == code
    assert sent.body["message"]
    assert StoredEvent.objects.filter(item=item).count() == before


def test_a_changed_declaration_applies_to_the_next_value(
    job: Any, item: Any, declared: Any, shape: str, manager_api: Any, annotator_api: Any, send: Any
) -> None:
    def set_doors(doors: float) -> Any:
        return send(
            annotator_api, item.pk, {"type": "set_attributes", "shape_id": shape, "values": {"doors": doors}}
        )

    assert set_doors(5).status == 201
    narrower = [*CAR[:2], {"name": "doors", "kind": "number", "min": 2, "max": 4}]
    response = manager_api.patch(classes_url(job, declared), {"attributes": narrower}, format="json")
    assert response.status_code == 200

    assert set_doors(4.5).status == 422  # the new rule
    assert set_doors(3).status == 201
    state = annotator_api.get(f"/api/items/{item.pk}/state/").json()
    assert [s["attributes"] for s in state["shapes"]] == [{"doors": 3.0}]
