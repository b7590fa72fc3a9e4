"""paste_shapes over POST /api/items/<id>/commands/: applied as one event, projected (the state, the item's
shape count), undone in one step, retried, refused whole with its code, and refused to auditors."""

from __future__ import annotations

from typing import Any

import pytest

from apps.labeling.models import Item, StoredEvent
from tests.conftest import new_id, replay_view, square

pytestmark = pytest.mark.django_db


def state(client: Any, item: Any) -> dict[str, Any]:
    response = client.get(f"/api/items/{item.pk}/state/")
    assert response.status_code == 200
    return response.json()


def pasted(label_class_id: int, points: list[list[float]], group_id: str | None = None) -> dict[str, Any]:
    shape: dict[str, Any] = {"shape_id": new_id(), "label_class_id": label_class_id, "points": points}
    if group_id is not None:
        shape["group_id"] = group_id
    return shape


def test_a_paste_answers_201_with_one_event_and_every_shape_is_in_the_state_and_the_read_model(
    item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any, send: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    add_polygon(annotator_api, item.pk, cat, points=square(10, 10, 20))
    shapes = [pasted(cat, square(20, 20, 20), "copy-1"), pasted(dog, square(50, 40, 10), "copy-1")]

    sent = send(annotator_api, item.pk, {"type": "paste_shapes", "shapes": shapes})

    assert sent.status == 201
    [event] = sent.body["events"]
    assert event["type"] == "shapes_pasted"
    assert event["payload"] == {"shapes": shapes}
    view = state(annotator_api, item)
    assert [(s["number"], s["label_class_id"], s.get("group_id")) for s in view["shapes"][1:]] == [
        (2, cat, "copy-1"),
        (3, dog, "copy-1"),
    ]
    assert view == replay_view(item)
    item.refresh_from_db()
    assert (item.shape_count, item.last_seq) == (3, 2)


def test_one_undo_takes_the_whole_paste_back(
    item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any, send: Any
) -> None:
    cat = labels["cat"].pk
    add_polygon(annotator_api, item.pk, cat, points=square(10, 10, 20))
    before = state(annotator_api, item)
    shapes = [pasted(cat, square(20, 20, 20)), pasted(cat, square(40, 40, 20)), pasted(cat, square(60, 5, 9))]
    send(annotator_api, item.pk, {"type": "paste_shapes", "shapes": shapes})

    undo = send(annotator_api, item.pk, {"type": "undo"})

    assert undo.status == 201
    assert undo.body["events"][0]["payload"]["shape_ids"] == [s["shape_id"] for s in shapes]
    after = state(annotator_api, item)
    assert after["shapes"] == before["shapes"]
    assert after["next_number"] == 5  # the pasted numbers stay used
    item.refresh_from_db()
    assert item.shape_count == 1


def test_a_retried_paste_gets_its_first_answer_and_is_stored_once(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    command = {"type": "paste_shapes", "shapes": [pasted(labels["cat"].pk, square(20, 20, 20))]}

    first = send(annotator_api, item.pk, command, command_id="paste-1")
    again = send(annotator_api, item.pk, command, command_id="paste-1")

    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    assert StoredEvent.objects.filter(item=item, type="shapes_pasted").count() == 1


@pytest.mark.parametrize(
    ("second", "status", "code"),
    [
        ("none", 400, "invalid_command"),
        ("outside", 422, "polygon_outside_image"),
        ("unknown_label", 422, "unknown_label_class"),
        ("two_points", 422, "too_few_vertices"),
        ("too_many", 400, "invalid_command"),
    ],
)
def test_a_refused_paste_answers_with_its_code_and_stores_none_of_its_shapes(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, second: str, status: int, code: str
) -> None:
    cat = labels["cat"].pk
    good = pasted(cat, square(10, 10, 20))
    shapes = {
        "none": [],
        "outside": [good, pasted(cat, square(90, 10, 20))],  # the cat image is 100x80
        "unknown_label": [good, pasted(999_999, square(30, 30, 5))],
        "two_points": [good, pasted(cat, [[1, 1], [5, 5]])],
        "too_many": [pasted(cat, square(1, 1, 2)) for _ in range(1001)],
    }[second]

    sent = send(annotator_api, item.pk, {"type": "paste_shapes", "shapes": shapes})

    assert (sent.status, sent.body["code"]) == (status, code)
    assert sent.body["message"]
    if status == 422:
        assert sent.body["message"].startswith("Pasted shape 2 of 2: ")
    assert Item.objects.get(pk=item.pk).last_seq == 0
    assert state(annotator_api, item)["shapes"] == []


def test_an_auditor_may_not_paste(item: Any, labels: dict[str, Any], auditor_api: Any, send: Any) -> None:
    sent = send(
        auditor_api, item.pk, {"type": "paste_shapes", "shapes": [pasted(labels["cat"].pk, square(1, 1, 5))]}
    )

    assert (sent.status, sent.body["code"]) == (403, "permission_denied")
    assert Item.objects.get(pk=item.pk).last_seq == 0
