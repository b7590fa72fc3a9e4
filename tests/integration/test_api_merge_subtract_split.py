"""merge_shapes, subtract_shape and split_shape over POST /api/items/<id>/commands/: applied, stored,
projected (the state, the item's shape count), refused, retried and undone."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from apps.labeling.models import Item, StoredEvent
from tests.conftest import new_id, replay_view, square

pytestmark = pytest.mark.django_db


def state(client: Any, item: Any) -> dict[str, Any]:
    response = client.get(f"/api/items/{item.pk}/state/")
    assert response.status_code == 200
    return response.json()


def by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in view["shapes"]}


def test_a_merge_answers_201_with_its_event_and_leaves_one_shape_in_the_state_and_the_read_model(
    item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any, send: Any
) -> None:
    cat = labels["cat"].pk
    first = add_polygon(annotator_api, item.pk, cat, points=square(10, 10, 20)).body["events"][0]
    second = add_polygon(annotator_api, item.pk, cat, points=square(20, 20, 20)).body["events"][0]
    into, other = first["payload"]["shape_id"], second["payload"]["shape_id"]

    sent = send(annotator_api, item.pk, {"type": "merge_shapes", "shape_ids": [other, into], "into": into})

    assert sent.status == 201
    [event] = sent.body["events"]
    assert event["type"] == "shapes_merged"
    union = [
        [10.0, 10.0],
        [30.0, 10.0],
        [30.0, 20.0],
        [40.0, 20.0],
        [40.0, 40.0],
        [20.0, 40.0],
        [20.0, 30.0],
        [10.0, 30.0],
    ]
    assert event["payload"] == {"into": into, "shape_ids": [other, into], "points": union}
    view = state(annotator_api, item)
    assert view["shapes"] == [{"id": into, "number": 1, "label_class_id": cat, "points": union}]
    assert view == replay_view(item)
    item.refresh_from_db()
    assert (item.shape_count, item.last_seq) == (1, 3)


def test_a_cut_in_two_makes_a_new_shape_that_the_state_numbers_and_the_item_counts(
    item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any, send: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    shape = add_polygon(annotator_api, item.pk, cat, points=square(10, 10, 20)).body["events"][0]["payload"]
    bar = add_polygon(annotator_api, item.pk, dog, points=[[0, 18], [60, 18], [60, 22], [0, 22]])
    cutter = bar.body["events"][0]["payload"]["shape_id"]

    sent = send(
        annotator_api, item.pk, {"type": "subtract_shape", "shape_id": shape["shape_id"], "by": cutter}
    )

    assert sent.status == 201
    [event] = sent.body["events"]
    assert event["type"] == "shape_subtracted"
    parts = event["payload"]["parts"]
    assert [part["shape_id"] for part in parts][0] == shape["shape_id"]
    new = parts[1]["shape_id"]
    assert uuid.UUID(new).version == 5
    assert event["payload"]["group_id"] == shape["shape_id"]
    shapes = by_id(state(annotator_api, item))
    assert shapes[new]["number"] == 3 and shapes[new]["label_class_id"] == cat
    assert shapes[cutter]["points"] == [[0, 18], [60, 18], [60, 22], [0, 22]]
    item.refresh_from_db()
    assert item.shape_count == 3


def test_a_split_and_its_undo_over_rest(
    item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any, send: Any
) -> None:
    cat = labels["cat"].pk
    shape_id = add_polygon(annotator_api, item.pk, cat, points=square(10, 10, 20)).body["events"][0][
        "payload"
    ]["shape_id"]
    before = state(annotator_api, item)

    split = send(
        annotator_api, item.pk, {"type": "split_shape", "shape_id": shape_id, "line": [[15, 0], [15, 40]]}
    )
    undo = send(annotator_api, item.pk, {"type": "undo"})

    assert split.status == 201 and split.body["events"][0]["type"] == "shape_split"
    new = split.body["events"][0]["payload"]["parts"][1]["shape_id"]
    assert undo.status == 201
    assert undo.body["events"][0]["payload"] == {
        "target_seq": 2,
        "shape_ids": [shape_id, new],
        "skipped_shape_ids": [],
    }
    after = state(annotator_api, item)
    assert after["shapes"] == before["shapes"]
    assert after["next_number"] == 3  # the split's number stays used
    item.refresh_from_db()
    assert item.shape_count == 1


def test_a_retried_merge_gets_its_first_answer_and_is_stored_once(
    item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any, send: Any
) -> None:
    cat = labels["cat"].pk
    a = add_polygon(annotator_api, item.pk, cat, points=square(10, 10, 20)).body["events"][0]["payload"][
        "shape_id"
    ]
    b = add_polygon(annotator_api, item.pk, cat, points=square(30, 10, 20)).body["events"][0]["payload"][
        "shape_id"
    ]
    command = {"type": "merge_shapes", "shape_ids": [a, b], "into": b}

    first = send(annotator_api, item.pk, command, command_id="merge-1")
    again = send(annotator_api, item.pk, command, command_id="merge-1")

    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    assert StoredEvent.objects.filter(item=item, type="shapes_merged").count() == 1


@pytest.mark.parametrize(
    ("command", "status", "code"),
    [
        ({"type": "merge_shapes", "shape_ids": ["A", "FAR"], "into": "C"}, 400, "invalid_command"),
        ({"type": "merge_shapes", "shape_ids": ["A", "FAR"], "into": "A"}, 422, "shapes_not_touching"),
        ({"type": "merge_shapes", "shape_ids": ["A", "DOG"], "into": "A"}, 422, "different_labels"),
        ({"type": "subtract_shape", "shape_id": "A", "by": "INSIDE"}, 422, "result_has_hole"),
        ({"type": "subtract_shape", "shape_id": "INSIDE", "by": "A"}, 422, "empty_result"),
        ({"type": "subtract_shape", "shape_id": "A", "by": "A"}, 400, "invalid_command"),
        ({"type": "split_shape", "shape_id": "A", "line": [[15, 0], [15, 20]]}, 422, "line_does_not_cross"),
        ({"type": "split_shape", "shape_id": "A", "line": [[15, 0]]}, 400, "invalid_command"),
    ],
)
def test_a_refused_merge_subtract_or_split_answers_with_its_code_and_stores_nothing(
    item: Any,
    labels: dict[str, Any],
    annotator_api: Any,
    add_polygon: Any,
    send: Any,
    command: dict[str, Any],
    status: int,
    code: str,
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    ids = {"C": new_id()}
    for name, label, points in [
        ("A", cat, square(10, 10, 20)),
        ("FAR", cat, square(60, 50, 10)),
        ("DOG", dog, square(20, 20, 20)),
        ("INSIDE", dog, square(15, 15, 5)),
    ]:
        ids[name] = add_polygon(annotator_api, item.pk, label, points=points).body["events"][0]["payload"][
            "shape_id"
        ]
    wire = {
        key: [ids[v] for v in value]
        if key == "shape_ids"
        else ids.get(value, value)
        if key != "line"
        else value
        for key, value in command.items()
    }
    seq = Item.objects.get(pk=item.pk).last_seq

    sent = send(annotator_api, item.pk, wire)

    assert (sent.status, sent.body["code"]) == (status, code)
    assert sent.body["message"]
    assert Item.objects.get(pk=item.pk).last_seq == seq
