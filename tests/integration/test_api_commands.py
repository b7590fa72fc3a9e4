"""POST /api/items/<id>/commands/: accepted, retried, refused, malformed, conflicting, forbidden."""

from __future__ import annotations

from typing import Any

import pytest

from apps.labeling.models import StoredEvent
from tests.conftest import new_id, square

pytestmark = pytest.mark.django_db

EVENT_FIELDS = {"seq", "type", "payload", "actor", "created_at"}


def url(item: Any) -> str:
    return f"/api/items/{item.pk}/commands/"


def stored(item: Any) -> int:
    return StoredEvent.objects.filter(item=item).count()


def polygon(label_class_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "add_polygon",
        "shape_id": new_id(),
        "label_class_id": label_class_id,
        "points": square(10, 10, 20),
        **overrides,
    }


# Accepted -----------------------------------------------------------------------------------------


def test_an_accepted_command_answers_201_with_its_seq_and_events(
    item: Any, labels: dict[str, Any], annotator: Any, annotator_api: Any, send: Any
) -> None:
    command = polygon(labels["cat"].pk)

    sent = send(annotator_api, item.pk, command)

    assert sent.status == 201
    assert sent.body["seq"] == 1
    [event] = sent.body["events"]
    assert set(event) >= EVENT_FIELDS
    assert event["seq"] == 1
    assert event["type"] == "polygon_added"
    assert event["actor"] == annotator.pk
    assert event["payload"] == {
        "shape_id": command["shape_id"],
        "label_class_id": labels["cat"].pk,
        "points": command["points"],
    }
    assert event["created_at"].endswith("Z")
    row = StoredEvent.objects.get(item=item)
    assert (row.seq, row.type, row.actor_id, row.command_id) == (
        1,
        "polygon_added",
        annotator.pk,
        sent.command_id,
    )


def test_seqs_follow_one_another(item: Any, labels: dict[str, Any], annotator_api: Any, send: Any) -> None:
    seqs = [send(annotator_api, item.pk, polygon(labels["cat"].pk)).body["seq"] for _ in range(3)]
    seqs.append(send(annotator_api, item.pk, {"type": "save"}).body["seq"])

    assert seqs == [1, 2, 3, 4]


def test_drawing_a_polygon_vertex_by_vertex(
    item: Any, labels: dict[str, Any], annotator: Any, annotator_api: Any, send: Any
) -> None:
    shape_id = new_id()
    types = [
        send(annotator_api, item.pk, {"type": "add_vertex", "shape_id": shape_id, "x": x, "y": y}).body[
            "events"
        ][0]["type"]
        for x, y in [(10, 10), (50, 10), (50, 40)]
    ]
    closed = send(
        annotator_api,
        item.pk,
        {"type": "close_polygon", "shape_id": shape_id, "label_class_id": labels["dog"].pk},
    )

    assert types == ["vertex_added"] * 3
    assert closed.status == 201
    assert closed.body["events"][0]["type"] == "polygon_closed"
    state = annotator_api.get(f"/api/items/{item.pk}/state/").json()
    assert state["shapes"] == [
        {
            "id": shape_id,
            "number": 1,
            "label_class_id": labels["dog"].pk,
            "points": [[10.0, 10.0], [50.0, 10.0], [50.0, 40.0]],
        }
    ]
    assert state["drafts"] == []


def test_an_annotator_and_a_manager_may_send_commands(
    item: Any, annotator_api: Any, manager_api: Any, staff_api: Any, send: Any
) -> None:
    assert send(annotator_api, item.pk, {"type": "mark_hard_example"}).status == 201
    assert send(manager_api, item.pk, {"type": "unmark_hard_example"}).status == 201
    assert send(staff_api, item.pk, {"type": "mark_hard_example"}).status == 201
    assert stored(item) == 3


def test_a_command_that_changes_nothing_stores_nothing(item: Any, annotator_api: Any, send: Any) -> None:
    sent = send(annotator_api, item.pk, {"type": "unmark_hard_example"})

    assert sent.status in (200, 201)
    assert sent.body == {"seq": 0, "events": []}
    assert stored(item) == 0


# Retried ------------------------------------------------------------------------------------------


def test_a_retried_command_id_gets_200_with_the_identical_body_and_is_stored_once(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    command = polygon(labels["cat"].pk)
    first = send(annotator_api, item.pk, command)

    again = send(annotator_api, item.pk, command, command_id=first.command_id)

    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    assert stored(item) == 1
    state = annotator_api.get(f"/api/items/{item.pk}/state/").json()
    assert len(state["shapes"]) == 1


def test_a_retry_after_later_commands_still_gets_its_original_answer(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    command = polygon(labels["cat"].pk)
    first = send(annotator_api, item.pk, command)
    send(annotator_api, item.pk, {"type": "save"})
    send(annotator_api, item.pk, {"type": "delete_shape", "shape_id": command["shape_id"]})

    again = send(annotator_api, item.pk, command, command_id=first.command_id)

    assert again.status == 200
    assert again.body == first.body
    assert stored(item) == 3


def test_the_same_command_id_on_another_item_is_a_new_command(
    items: list[Any], labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    first = send(annotator_api, items[0].pk, {"type": "mark_hard_example"})

    other = send(annotator_api, items[1].pk, {"type": "mark_hard_example"}, command_id=first.command_id)

    assert other.status == 201
    assert stored(items[1]) == 1


# Refused by the labeling rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, code",
    [
        (
            lambda labels: polygon(labels["cat"].pk, points=[[10, 10], [150, 10], [50, 40]]),
            "polygon_outside_image",
        ),
        (lambda labels: polygon(999999), "unknown_label_class"),
        (
            lambda labels: polygon(labels["cat"].pk, points=[[0, 0], [30, 20], [30, 0], [0, 10]]),
            "self_intersecting",
        ),
        (lambda labels: polygon(labels["cat"].pk, points=[[0, 0], [10, 10], [20, 20]]), "zero_area"),
        (lambda labels: polygon(labels["cat"].pk, points=[[0, 0], [10, 10], [0, 0]]), "too_few_vertices"),
        (lambda labels: {"type": "delete_shape", "shape_id": new_id()}, "unknown_shape"),
        (lambda labels: {"type": "undo"}, "nothing_to_undo"),
        (
            lambda labels: {"type": "add_vertex", "shape_id": new_id(), "x": -1, "y": 5},
            "polygon_outside_image",
        ),
    ],
)
def test_a_refused_command_answers_422_with_its_code_and_stores_nothing(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, make: Any, code: str
) -> None:
    sent = send(annotator_api, item.pk, make(labels))

    assert sent.status == 422
    assert sent.body["code"] == code
    assert sent.body["message"]
    assert stored(item) == 0


def test_the_vertex_limit_comes_from_the_settings(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MAX_VERTICES": 4}
    pentagon = [[10, 10], [30, 5], [50, 10], [40, 40], [20, 40]]

    sent = send(annotator_api, item.pk, polygon(labels["cat"].pk, points=pentagon))

    assert (sent.status, sent.body["code"]) == (422, "too_many_vertices")
    assert send(annotator_api, item.pk, polygon(labels["cat"].pk)).status == 201


def test_the_shape_limit_comes_from_the_settings(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MAX_SHAPES": 2}
    assert send(annotator_api, item.pk, polygon(labels["cat"].pk)).status == 201
    assert send(annotator_api, item.pk, polygon(labels["cat"].pk, points=square(40, 40, 5))).status == 201

    sent = send(annotator_api, item.pk, polygon(labels["cat"].pk, points=square(60, 40, 5)))

    assert (sent.status, sent.body["code"]) == (422, "too_many_shapes")
    assert stored(item) == 2


def test_a_label_class_of_another_job_is_unknown_here(
    item: Any, annotator_api: Any, send: Any, staff_api: Any, dataset: Any
) -> None:
    other = staff_api.post(
        "/api/jobs/",
        {"name": "Other", "dataset": dataset.pk, "label_classes": [{"name": "x", "color": "#000000"}]},
        format="json",
    ).json()

    sent = send(annotator_api, item.pk, polygon(other["label_classes"][0]["id"]))

    assert (sent.status, sent.body["code"]) == (422, "unknown_label_class")


def test_a_symmetric_bow_tie_is_refused_as_self_intersecting(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    sent = send(
        annotator_api, item.pk, polygon(labels["cat"].pk, points=[[0, 0], [20, 20], [20, 0], [0, 20]])
    )

    assert (sent.status, sent.body["code"]) == (422, "self_intersecting")


def test_the_refusal_message_names_the_vertex_outside_the_image(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    sent = send(annotator_api, item.pk, polygon(labels["cat"].pk, points=[[10, 10], [50, 10], [512, 40]]))

    assert "512" in sent.body["message"]
    assert "100x80" in sent.body["message"]


def test_a_refused_command_id_may_be_used_again_for_a_valid_command(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    refused = send(annotator_api, item.pk, polygon(999999))

    accepted = send(annotator_api, item.pk, polygon(labels["cat"].pk), command_id=refused.command_id)

    assert (refused.status, accepted.status) == (422, 201)
    assert stored(item) == 1


def test_a_shape_id_already_used_is_refused(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    command = polygon(labels["cat"].pk)
    send(annotator_api, item.pk, command)

    sent = send(annotator_api, item.pk, {**command, "points": square(40, 40, 10)})

    assert (sent.status, sent.body["code"]) == (422, "shape_exists")
    assert stored(item) == 1


def test_another_persons_draft_cannot_be_extended(
    item: Any, annotator_api: Any, annotator2: Any, client_for: Any, send: Any
) -> None:
    shape_id = new_id()
    send(annotator_api, item.pk, {"type": "add_vertex", "shape_id": shape_id, "x": 1, "y": 1})

    sent = send(client_for(annotator2), item.pk, {"type": "add_vertex", "shape_id": shape_id, "x": 5, "y": 5})

    assert (sent.status, sent.body["code"]) == (422, "not_your_draft")
    assert stored(item) == 1


# Parse errors and malformed requests -------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        {},
        {"type": "fly"},
        {"type": 7},
        {"type": "add_vertex", "shape_id": "not-a-uuid", "x": 1, "y": 1},
        {"type": "add_vertex", "shape_id": "SHAPE", "x": "1", "y": 1},
        {"type": "add_vertex", "shape_id": "SHAPE", "x": True, "y": 1},
        {"type": "add_vertex", "shape_id": "SHAPE", "x": 1},
        {"type": "add_vertex", "shape_id": "SHAPE", "x": 1, "y": 1, "colour": "red"},
        {"type": "add_polygon", "shape_id": "SHAPE", "label_class_id": 1, "points": "nope"},
        {"type": "add_polygon", "shape_id": "SHAPE", "label_class_id": 1, "points": [[1, 2, 3]]},
        {"type": "add_polygon", "shape_id": "SHAPE", "label_class_id": 1.5, "points": [[1, 2]]},
        {"type": "move_vertex", "shape_id": "SHAPE", "index": -1, "x": 1, "y": 1},
    ],
)
def test_an_unparseable_command_answers_400_invalid_command_and_stores_nothing(
    item: Any, annotator_api: Any, send: Any, command: dict[str, Any]
) -> None:
    command = {k: new_id() if v == "SHAPE" else v for k, v in command.items()}

    sent = send(annotator_api, item.pk, command)

    assert sent.status == 400
    assert sent.body["code"] == "invalid_command"
    assert sent.body["message"]
    assert stored(item) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"command_id": "x", "command": {"type": "save"}',
        b"{'command_id': 'x'}",
        b'{"command_id": "x", "command": {"type": "add_vertex", "x": NaN}}',
        b"\xff\xfe",
    ],
)
def test_a_malformed_json_body_answers_400_malformed_json_and_stores_nothing(
    item: Any, annotator_api: Any, raw: bytes
) -> None:
    response = annotator_api.post(url(item), raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert response.json()["message"]
    assert stored(item) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"command_id": "C", "command": [{"type": "save"}]},
        {"command_id": "C", "command": "save"},
        {"command_id": "C", "command": {"type": "save"}, "expected_seq": "zero"},
        {"command_id": "C", "command": {"type": "save"}, "expected_seq": -1},
        {"command": {"type": "save"}},
        {"command_id": "C"},
        {"command_id": "C" * 65, "command": {"type": "save"}},
        # The websocket's rule: a command_id is a string of 1 to 64 characters, never a number.
        {"command_id": 7, "command": {"type": "save"}},
        {"command_id": 7.5, "command": {"type": "save"}},
        {"command_id": True, "command": {"type": "save"}},
        {"command_id": "", "command": {"type": "save"}},
        {"command_id": ["C"], "command": {"type": "save"}},
    ],
)
def test_a_body_with_wrong_types_answers_400_and_stores_nothing(
    item: Any, annotator_api: Any, body: dict[str, Any]
) -> None:
    body = {k: new_id() if v == "C" else v for k, v in body.items()}

    response = annotator_api.post(url(item), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_request", "invalid_command")
    assert response.json()["message"]
    assert stored(item) == 0


def test_a_body_that_is_not_an_object_answers_400(item: Any, annotator_api: Any) -> None:
    response = annotator_api.post(url(item), [{"type": "save"}], format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert stored(item) == 0


# Optimistic concurrency ---------------------------------------------------------------------------


def test_a_matching_expected_seq_is_accepted(item: Any, annotator_api: Any, send: Any) -> None:
    send(annotator_api, item.pk, {"type": "mark_hard_example"})

    sent = send(annotator_api, item.pk, {"type": "save"}, expected_seq=1)

    assert sent.status == 201
    assert sent.body["seq"] == 2


@pytest.mark.parametrize("expected_seq", [0, 2])
def test_a_stale_or_future_expected_seq_answers_409_seq_conflict(
    item: Any, annotator_api: Any, send: Any, expected_seq: int
) -> None:
    send(annotator_api, item.pk, {"type": "mark_hard_example"})

    sent = send(annotator_api, item.pk, {"type": "save"}, expected_seq=expected_seq)

    assert sent.status == 409
    assert sent.body["code"] == "seq_conflict"
    assert sent.body["message"]
    assert stored(item) == 1


# Who may send -------------------------------------------------------------------------------------


def test_an_auditor_may_not_send_commands(
    item: Any, labels: dict[str, Any], auditor_api: Any, send: Any
) -> None:
    sent = send(auditor_api, item.pk, polygon(labels["cat"].pk))

    assert sent.status == 403
    assert sent.body["code"] == "permission_denied"
    assert stored(item) == 0


def test_a_non_member_is_told_the_item_does_not_exist(
    item: Any, labels: dict[str, Any], outsider_api: Any, send: Any
) -> None:
    sent = send(outsider_api, item.pk, polygon(labels["cat"].pk))

    assert sent.status == 404
    assert sent.body["code"] == "not_found"
    assert stored(item) == 0


def test_a_non_member_cannot_tell_an_item_of_another_job_from_one_that_is_not_there(
    item: Any, outsider_api: Any, send: Any
) -> None:
    # The command is parsed first, then authorised with the item's head (as on a socket): a malformed one
    # is 400 wherever it is sent, a well-formed one 404 for anyone who is not a member.
    for command, status in (({"type": "fly"}, 400), ({"type": "save"}, 404)):
        there, absent = send(outsider_api, item.pk, command), send(outsider_api, item.pk + 1000, command)
        assert there.status == absent.status == status
        assert {**there.body, "message": ""} == {**absent.body, "message": ""}


def test_an_unknown_item_is_not_found(item: Any, annotator_api: Any, send: Any) -> None:
    sent = send(annotator_api, item.pk + 1000, {"type": "save"})

    assert sent.status == 404
    assert sent.body["code"] == "not_found"


def test_get_is_not_allowed_on_commands(item: Any, annotator_api: Any) -> None:
    response = annotator_api.get(url(item))

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
