"""parse_command, the one wire parser shared by REST and websocket, and its inverse command_to_dict."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from apps.labeling.domain import (
    COMMAND_TYPES,
    Context,
    Rejected,
    command_to_dict,
    decide,
    initial_state,
    parse_command,
)
from apps.labeling.domain.commands import (
    AddPolygon,
    AddVertex,
    ClosePolygon,
    DeleteAllShapes,
    DeleteLabelShapes,
    DeleteShape,
    DiscardChanges,
    DiscardDraft,
    GroupShape,
    InsertVertex,
    MarkHardExample,
    MergeShapes,
    MoveShape,
    MoveVertex,
    PasteShapes,
    Redo,
    RelabelShape,
    RemoveVertex,
    ResetShape,
    Save,
    SetAttributes,
    SplitShape,
    SubtractShape,
    Undo,
    UnmarkHardExample,
)
from apps.labeling.domain.envelope import CommandEnvelope, InvalidEnvelope, parse_command_envelope
from apps.labeling.domain.review_messages import (
    AcceptReview,
    CommentIssue,
    OpenIssue,
    RejectReview,
    ReopenIssue,
    ReopenReview,
    ResolveIssue,
)

SHAPE_ID = "6f1c9a52-3b7e-4d2a-9c1e-0a8b7c6d5e4f"
OTHER_ID = "0d2e4f60-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
POINTS = [[10.0, 10.0], [30.0, 10.0], [20.0, 25.5]]

# Every command type: its wire form and the command it means.
WIRE: dict[str, tuple[dict[str, Any], Any]] = {
    "add_vertex": (
        {"type": "add_vertex", "shape_id": SHAPE_ID, "x": 1.5, "y": 2.0},
        AddVertex(SHAPE_ID, 1.5, 2.0),
    ),
    "close_polygon": (
        {"type": "close_polygon", "shape_id": SHAPE_ID, "label_class_id": 3},
        ClosePolygon(SHAPE_ID, 3),
    ),
    "discard_draft": ({"type": "discard_draft", "shape_id": SHAPE_ID}, DiscardDraft(SHAPE_ID)),
    "add_polygon": (
        {"type": "add_polygon", "shape_id": SHAPE_ID, "label_class_id": 3, "points": POINTS},
        AddPolygon(SHAPE_ID, 3, ((10.0, 10.0), (30.0, 10.0), (20.0, 25.5))),
    ),
    "move_vertex": (
        {"type": "move_vertex", "shape_id": SHAPE_ID, "index": 2, "x": 4.0, "y": 5.0},
        MoveVertex(SHAPE_ID, 2, 4.0, 5.0),
    ),
    "insert_vertex": (
        {"type": "insert_vertex", "shape_id": SHAPE_ID, "index": 0, "x": 4.0, "y": 5.0},
        InsertVertex(SHAPE_ID, 0, 4.0, 5.0),
    ),
    "remove_vertex": (
        {"type": "remove_vertex", "shape_id": SHAPE_ID, "index": 1},
        RemoveVertex(SHAPE_ID, 1),
    ),
    "move_shape": (
        {"type": "move_shape", "shape_id": SHAPE_ID, "dx": -3.25, "dy": 0.0},
        MoveShape(SHAPE_ID, -3.25, 0.0),
    ),
    "relabel_shape": (
        {"type": "relabel_shape", "shape_id": SHAPE_ID, "label_class_id": 7},
        RelabelShape(SHAPE_ID, 7),
    ),
    "group_shape": (
        {"type": "group_shape", "shape_id": SHAPE_ID, "group_id": "person-1"},
        GroupShape(SHAPE_ID, "person-1"),
    ),
    "reset_shape": ({"type": "reset_shape", "shape_id": SHAPE_ID}, ResetShape(SHAPE_ID)),
    "delete_shape": ({"type": "delete_shape", "shape_id": SHAPE_ID}, DeleteShape(SHAPE_ID)),
    "delete_all_shapes": ({"type": "delete_all_shapes"}, DeleteAllShapes()),
    "delete_label_shapes": ({"type": "delete_label_shapes", "label_class_id": 7}, DeleteLabelShapes(7)),
    "merge_shapes": (
        {"type": "merge_shapes", "shape_ids": [SHAPE_ID, OTHER_ID], "into": OTHER_ID},
        MergeShapes((SHAPE_ID, OTHER_ID), OTHER_ID),
    ),
    "subtract_shape": (
        {"type": "subtract_shape", "shape_id": SHAPE_ID, "by": OTHER_ID},
        SubtractShape(SHAPE_ID, OTHER_ID),
    ),
    "split_shape": (
        {"type": "split_shape", "shape_id": SHAPE_ID, "line": [[0.0, 5.0], [40.0, 7.5]]},
        SplitShape(SHAPE_ID, ((0.0, 5.0), (40.0, 7.5))),
    ),
    "paste_shapes": (
        {
            "type": "paste_shapes",
            "shapes": [
                {"shape_id": SHAPE_ID, "label_class_id": 3, "points": POINTS},
                {"shape_id": OTHER_ID, "label_class_id": 4, "points": POINTS, "group_id": "copy-1"},
            ],
        },
        PasteShapes(
            (
                AddPolygon(SHAPE_ID, 3, ((10.0, 10.0), (30.0, 10.0), (20.0, 25.5))),
                AddPolygon(OTHER_ID, 4, ((10.0, 10.0), (30.0, 10.0), (20.0, 25.5)), "copy-1"),
            )
        ),
    ),
    "undo": ({"type": "undo"}, Undo()),
    "redo": ({"type": "redo"}, Redo()),
    "save": ({"type": "save"}, Save()),
    "set_attributes": (
        {
            "type": "set_attributes",
            "shape_id": SHAPE_ID,
            "values": {"occluded": True, "colour": None, "n": 2.5},
        },
        SetAttributes(SHAPE_ID, (("colour", None), ("n", 2.5), ("occluded", True))),
    ),
    "discard_changes": ({"type": "discard_changes"}, DiscardChanges()),
    "mark_hard_example": ({"type": "mark_hard_example"}, MarkHardExample()),
    "unmark_hard_example": ({"type": "unmark_hard_example"}, UnmarkHardExample()),
    "accept_review": ({"type": "accept_review"}, AcceptReview()),
    "reject_review": ({"type": "reject_review", "reason": "Wrong label"}, RejectReview("Wrong label")),
    "reopen_review": ({"type": "reopen_review"}, ReopenReview()),
    "open_issue": (
        {
            "type": "open_issue",
            "issue_id": OTHER_ID,
            "x": 3.5,
            "y": 4.0,
            "text": "<b>here</b>",
            "shape_id": SHAPE_ID,
        },
        OpenIssue(OTHER_ID, 3.5, 4.0, "<b>here</b>", SHAPE_ID),
    ),
    "comment_issue": (
        {"type": "comment_issue", "issue_id": OTHER_ID, "text": "fixed\nsee"},
        CommentIssue(OTHER_ID, "fixed\nsee"),
    ),
    "resolve_issue": ({"type": "resolve_issue", "issue_id": OTHER_ID}, ResolveIssue(OTHER_ID)),
    "reopen_issue": ({"type": "reopen_issue", "issue_id": OTHER_ID}, ReopenIssue(OTHER_ID)),
}


def invalid(data: Any) -> Rejected:
    with pytest.raises(Rejected) as info:
        parse_command(data)
    assert info.value.code == "invalid_command"
    return info.value


def test_the_examples_cover_every_command_type():
    assert set(WIRE) == set(COMMAND_TYPES)


@pytest.mark.parametrize("kind", sorted(WIRE))
def test_it_parses_every_command_type_from_its_wire_form(kind):
    wire, command = WIRE[kind]

    assert parse_command(wire) == command


@pytest.mark.parametrize("kind", sorted(WIRE))
def test_every_command_round_trips_through_its_wire_form(kind):
    wire, command = WIRE[kind]

    assert command_to_dict(command) == wire
    assert parse_command(json.loads(json.dumps(command_to_dict(command)))) == command


def test_it_reads_integer_coordinates_as_floats():
    command = parse_command({"type": "add_vertex", "shape_id": SHAPE_ID, "x": 3, "y": 4})

    assert command == AddVertex(SHAPE_ID, 3.0, 4.0)
    assert isinstance(command.x, float)
    assert isinstance(command.y, float)


def test_it_accepts_points_given_as_tuples():
    command = parse_command(
        {"type": "add_polygon", "shape_id": SHAPE_ID, "label_class_id": 1, "points": [(1, 2), (3, 4), (5, 0)]}
    )

    assert command.points == ((1.0, 2.0), (3.0, 4.0), (5.0, 0.0))


def test_it_normalises_a_shape_id_to_the_canonical_uuid_form():
    command = parse_command({"type": "delete_shape", "shape_id": SHAPE_ID.upper()})

    assert command == DeleteShape(SHAPE_ID)


def test_it_leaves_non_finite_coordinates_to_decide_which_refuses_them():
    command = parse_command(
        json.loads(f'{{"type": "add_vertex", "shape_id": "{SHAPE_ID}", "x": NaN, "y": 1}}')
    )
    assert math.isnan(command.x)

    with pytest.raises(Rejected) as info:
        decide(initial_state(100, 80), command, Context(actor=1))

    assert info.value.code == "non_finite_coordinate"


@pytest.mark.parametrize(
    "data, problem",
    [
        pytest.param([], "JSON object", id="a-list"),
        pytest.param("undo", "JSON object", id="a-string"),
        pytest.param(None, "JSON object", id="null"),
        pytest.param({"shape_id": SHAPE_ID}, "'type'", id="missing-type"),
        pytest.param({"type": 3}, "'type'", id="type-not-a-string"),
        pytest.param({"type": "explode"}, "Unknown command type 'explode'", id="unknown-type"),
        pytest.param(
            {"type": "add_vertex", "shape_id": SHAPE_ID, "x": 1.0}, "add_vertex needs y", id="missing-y"
        ),
        pytest.param(
            {"type": "add_polygon", "shape_id": SHAPE_ID, "label_class_id": 1},
            "needs points",
            id="missing-points",
        ),
        pytest.param({"type": "delete_label_shapes"}, "needs label_class_id", id="missing-label"),
        pytest.param(
            {"type": "add_vertex", "shape_id": SHAPE_ID, "x": "12", "y": 1.0},
            "x must be a number",
            id="string-x",
        ),
        pytest.param(
            {"type": "add_vertex", "shape_id": SHAPE_ID, "x": 1.0, "y": None},
            "y must be a number",
            id="null-y",
        ),
        pytest.param(
            {"type": "add_vertex", "shape_id": SHAPE_ID, "x": True, "y": 1.0},
            "x must be a number",
            id="bool-x",
        ),
        pytest.param(
            {"type": "move_shape", "shape_id": SHAPE_ID, "dx": 1.0, "dy": False},
            "dy must be a number",
            id="bool-dy",
        ),
        pytest.param(
            {"type": "add_vertex", "shape_id": SHAPE_ID, "x": 2**60, "y": 1.0},
            "x is out of range",
            id="huge-x",
        ),
        pytest.param(
            {"type": "close_polygon", "shape_id": SHAPE_ID, "label_class_id": True},
            "label_class_id must be an integer",
            id="bool-label",
        ),
        pytest.param(
            {"type": "close_polygon", "shape_id": SHAPE_ID, "label_class_id": 1.5},
            "label_class_id must be an integer",
            id="float-label",
        ),
        pytest.param(
            {"type": "close_polygon", "shape_id": SHAPE_ID, "label_class_id": "1"},
            "label_class_id must be an integer",
            id="string-label",
        ),
        pytest.param(
            {"type": "remove_vertex", "shape_id": SHAPE_ID, "index": 1.0},
            "index must be an integer",
            id="float-index",
        ),
        pytest.param(
            {"type": "remove_vertex", "shape_id": SHAPE_ID, "index": True},
            "index must be an integer",
            id="bool-index",
        ),
        pytest.param(
            {"type": "remove_vertex", "shape_id": SHAPE_ID, "index": -1},
            "index must be at least 0",
            id="negative-index",
        ),
        pytest.param(
            {"type": "insert_vertex", "shape_id": SHAPE_ID, "index": -2, "x": 1.0, "y": 1.0},
            "index must be at least 0",
            id="negative-insert-index",
        ),
        pytest.param(
            {"type": "delete_shape", "shape_id": "not-a-uuid"},
            "'not-a-uuid' is not a UUID",
            id="non-uuid-shape-id",
        ),
        pytest.param({"type": "delete_shape", "shape_id": ""}, "is not a UUID", id="empty-shape-id"),
        pytest.param(
            {"type": "delete_shape", "shape_id": 42}, "shape_id must be a UUID string", id="numeric-shape-id"
        ),
        pytest.param({"type": "save", "shape_id": SHAPE_ID}, "save does not take shape_id", id="extra-field"),
        pytest.param(
            {"type": "add_vertex", "shape_id": SHAPE_ID, "x": 1.0, "y": 1.0, "z": 1.0},
            "add_vertex does not take z",
            id="extra-coordinate",
        ),
        pytest.param(
            {"type": "add_polygon", "shape_id": SHAPE_ID, "label_class_id": 1, "points": "1,2 3,4 5,6"},
            "points must be a list",
            id="points-a-string",
        ),
        pytest.param(
            {"type": "add_polygon", "shape_id": SHAPE_ID, "label_class_id": 1, "points": [1.0, 2.0, 3.0]},
            "points[0] must be an [x, y] pair",
            id="points-flat",
        ),
        pytest.param(
            {
                "type": "add_polygon",
                "shape_id": SHAPE_ID,
                "label_class_id": 1,
                "points": [[1.0, 2.0], [3.0, 4.0, 5.0]],
            },
            "points[1] must be an [x, y] pair",
            id="points-triple",
        ),
        pytest.param(
            {"type": "add_polygon", "shape_id": SHAPE_ID, "label_class_id": 1, "points": [[1.0, 2.0], [3.0]]},
            "points[1] must be an [x, y] pair",
            id="points-single",
        ),
        pytest.param(
            {
                "type": "add_polygon",
                "shape_id": SHAPE_ID,
                "label_class_id": 1,
                "points": [[1.0, 2.0], [3.0, "4"]],
            },
            "points[1][1] must be a number",
            id="points-string-coordinate",
        ),
        pytest.param(
            {"type": "add_polygon", "shape_id": SHAPE_ID, "label_class_id": 1, "points": [[True, 2.0]]},
            "points[0][0] must be a number",
            id="points-bool-coordinate",
        ),
        pytest.param(
            {"type": "paste_shapes", "shapes": []}, "shapes must be a list of 1 to", id="paste-none"
        ),
        pytest.param(
            {
                "type": "paste_shapes",
                "shapes": [{"shape_id": SHAPE_ID, "label_class_id": 1, "points": []}] * 1001,
            },
            "shapes must be a list of 1 to 1000",
            id="paste-too-many",
        ),
        pytest.param(
            {"type": "paste_shapes", "shapes": [{"type": "add_polygon"}]},
            "shapes[0] must be an object",
            id="paste-typed-shape",
        ),
        pytest.param(
            {
                "type": "paste_shapes",
                "shapes": [{"shape_id": SHAPE_ID, "label_class_id": 1, "points": [[1, "2"]]}],
            },
            "shapes[0]: points[0][1] must be a number",
            id="paste-bad-points",
        ),
        pytest.param(
            {
                "type": "paste_shapes",
                "shapes": [{"shape_id": SHAPE_ID, "label_class_id": 1, "points": POINTS}] * 2,
            },
            "names a shape_id twice",
            id="paste-same-id-twice",
        ),
    ],
)
def test_it_rejects_malformed_input_naming_the_problem(data, problem):
    error = invalid(data)

    assert problem in error.message


def test_group_id_is_optional_where_it_has_a_default_and_kept_when_given():
    grouped = {
        "type": "add_polygon",
        "shape_id": SHAPE_ID,
        "label_class_id": 3,
        "points": POINTS,
        "group_id": "g",
    }
    assert parse_command(grouped) == AddPolygon(SHAPE_ID, 3, ((10.0, 10.0), (30.0, 10.0), (20.0, 25.5)), "g")
    assert command_to_dict(parse_command(grouped)) == grouped
    closing = {"type": "close_polygon", "shape_id": SHAPE_ID, "label_class_id": 3, "group_id": "g"}
    assert parse_command(closing) == ClosePolygon(SHAPE_ID, 3, "g")
    assert parse_command({"type": "group_shape", "shape_id": SHAPE_ID, "group_id": None}) == GroupShape(
        SHAPE_ID, None
    )


@pytest.mark.parametrize("group_id", ["", 5, "x" * 65, "tab\there", ["g"]])
def test_a_malformed_group_id_is_refused(group_id):
    error = invalid({"type": "group_shape", "shape_id": SHAPE_ID, "group_id": group_id})
    assert "group_id" in error.message


def test_group_shape_needs_its_group_id_even_to_ungroup():
    assert "needs group_id" in invalid({"type": "group_shape", "shape_id": SHAPE_ID}).message


def test_an_unknown_type_lists_the_known_ones():
    error = invalid({"type": "draw"})

    assert "add_vertex" in error.message
    assert "unmark_hard_example" in error.message


def test_a_refusal_is_a_code_and_a_message():
    error = invalid({"type": "undo", "extra": 1})

    assert error.as_dict() == {"code": "invalid_command", "message": "undo does not take extra."}


# The envelope: one reading for REST and the websocket ---------------------------------------------------


def test_an_envelope_gives_its_command_id_command_and_expected_seq() -> None:
    envelope = parse_command_envelope({"command_id": "c-1", "command": {"type": "save"}, "expected_seq": 7})

    assert envelope == CommandEnvelope("c-1", Save(), 7)
    assert parse_command_envelope({"command_id": "c-2", "command": {"type": "save"}}).expected_seq is None


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        ({"command": {"type": "save"}}, "command_id"),
        ({"command_id": "", "command": {"type": "save"}}, "command_id"),
        ({"command_id": "x" * 65, "command": {"type": "save"}}, "command_id"),
        ({"command_id": 5, "command": {"type": "save"}}, "command_id"),
        ({"command_id": "c", "command": {"type": "save"}, "expected_seq": True}, "expected_seq"),
        ({"command_id": "c", "command": {"type": "save"}, "expected_seq": "3"}, "expected_seq"),
        ({"command_id": "c", "command": {"type": "save"}, "expected_seq": -1}, "expected_seq"),
        ({"command_id": "c", "command": {"type": "save"}, "expected_seq": 2**31}, "expected_seq"),
    ],
)
def test_a_wrong_envelope_field_is_named(envelope: dict, field: str) -> None:
    with pytest.raises(InvalidEnvelope) as raised:
        parse_command_envelope(envelope)

    assert raised.value.field == field
    assert field in raised.value.message


def test_a_wrong_command_in_a_good_envelope_is_an_invalid_command() -> None:
    with pytest.raises(Rejected) as raised:
        parse_command_envelope({"command_id": "c", "command": {"type": "fly"}})

    assert raised.value.code == "invalid_command"
