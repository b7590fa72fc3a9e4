"""Given/when/then for the review and issue commands (issue 24, docs/review.md): what each emits, the state it
leads to, and every refusal."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from apps.labeling.domain import Context, Rejected, decide, parse_command, replay, state_view
from apps.labeling.domain.commands import AddPolygon, Command, DeleteAllShapes, MoveShape, Save, Undo
from apps.labeling.domain.review_messages import (
    AcceptReview,
    CommentIssue,
    IssueCommented,
    IssueOpened,
    IssueReopened,
    IssueResolved,
    OpenIssue,
    RejectReview,
    ReopenIssue,
    ReopenReview,
    ResolveIssue,
    ReviewAccepted,
    ReviewRejected,
    ReviewReopened,
)
from apps.labeling.domain.state import ItemState, initial_state

ANN, REV = 1, 2
CAT = 1
S, T = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
I1, I2 = str(uuid.UUID(int=21)), str(uuid.UUID(int=22))
SQUARE = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))


def given(*steps: tuple[int, Command]) -> ItemState:
    state = initial_state(100, 80)
    for actor, command in steps:
        state = replay(state, decide(state, command, Context(actor=actor, label_class_ids=frozenset({CAT}))))
    return state


def when(state: ItemState, actor: int, command: Command) -> tuple[list[Any], ItemState]:
    events = decide(state, command, Context(actor=actor, label_class_ids=frozenset({CAT})))
    return events, replay(state, events)


def refused(state: ItemState, actor: int, command: Command) -> str:
    with pytest.raises(Rejected) as info:
        decide(state, command, Context(actor=actor, label_class_ids=frozenset({CAT})))
    return info.value.code


LABELED = ((ANN, AddPolygon(S, CAT, SQUARE)), (ANN, Save()))


def review_of(state: ItemState) -> dict[str, Any]:
    return state_view(state)["review"]


# Review status ---------------------------------------------------------------------------------------


def test_an_item_starts_with_nothing_to_review_and_a_labeled_save_sends_it_to_review() -> None:
    assert review_of(given())["status"] == "none"
    assert review_of(given((ANN, AddPolygon(S, CAT, SQUARE))))["status"] == "none"  # not saved yet
    assert review_of(given(*LABELED)) == {"status": "to_review", "reason": None, "actor": None, "seq": 2}


def test_accepting_a_labeled_item() -> None:
    events, state = when(given(*LABELED), REV, AcceptReview())

    assert events == [ReviewAccepted(REV)]
    assert review_of(state) == {"status": "accepted", "reason": None, "actor": REV, "seq": 3}


def test_accepting_an_accepted_item_again_emits_nothing() -> None:
    events, _ = when(given(*LABELED, (REV, AcceptReview())), REV, AcceptReview())

    assert events == []


def test_rejecting_with_a_reason() -> None:
    events, state = when(given(*LABELED), REV, RejectReview("The tail is missing."))

    assert events == [ReviewRejected(REV, "The tail is missing.")]
    assert review_of(state) == {
        "status": "rejected",
        "reason": "The tail is missing.",
        "actor": REV,
        "seq": 3,
    }


def test_a_save_after_a_rejection_puts_the_item_back_to_review() -> None:
    state = given(*LABELED, (REV, RejectReview("no")), (ANN, MoveShape(S, 1.0, 1.0)))

    _, saved = when(state, ANN, Save())

    assert review_of(saved) == {"status": "to_review", "reason": None, "actor": None, "seq": 5}


def test_a_save_that_changed_nothing_keeps_an_acceptance_and_one_that_changed_something_does_not() -> None:
    accepted = given(*LABELED, (REV, AcceptReview()))

    _, same = when(accepted, ANN, Save())
    _, moved = when(given(*LABELED, (REV, AcceptReview()), (ANN, MoveShape(S, 2.0, 0.0))), ANN, Save())

    assert review_of(same)["status"] == "accepted"
    assert review_of(moved)["status"] == "to_review"


def test_a_save_that_holds_no_shape_leaves_nothing_to_review() -> None:
    _, state = when(given(*LABELED, (REV, RejectReview("wrong")), (ANN, DeleteAllShapes())), ANN, Save())

    assert review_of(state) == {"status": "none", "reason": None, "actor": None, "seq": None}


@pytest.mark.parametrize("decision", [AcceptReview(), RejectReview("no")], ids=["accept", "reject"])
def test_a_reviewed_item_reopens_to_review(decision: Command) -> None:
    events, state = when(given(*LABELED, (REV, decision)), REV, ReopenReview())

    assert events == [ReviewReopened(REV)]
    assert review_of(state) == {"status": "to_review", "reason": None, "actor": REV, "seq": 4}


def test_reopening_an_item_waiting_for_review_emits_nothing() -> None:
    assert when(given(*LABELED), REV, ReopenReview())[0] == []


@pytest.mark.parametrize("command", [AcceptReview(), RejectReview("no")], ids=["accept", "reject"])
def test_an_unsaved_item_is_neither_accepted_nor_rejected(command: Command) -> None:
    assert refused(given((ANN, AddPolygon(S, CAT, SQUARE))), REV, command) == "not_saved"


@pytest.mark.parametrize("command", [AcceptReview(), RejectReview("no")], ids=["accept", "reject"])
def test_an_item_saved_without_a_shape_is_neither_accepted_nor_rejected(command: Command) -> None:
    assert refused(given((ANN, Save())), REV, command) == "not_labeled"


def test_an_item_never_labeled_has_no_review_to_reopen() -> None:
    assert refused(given(), REV, ReopenReview()) == "not_reviewed"


def test_open_issues_block_accepting_and_resolving_them_unblocks_it() -> None:
    with_issue = given(*LABELED, (REV, OpenIssue(I1, 5.0, 5.0, "here")))

    code = refused(with_issue, REV, AcceptReview())
    events, _ = when(
        given(*LABELED, (REV, OpenIssue(I1, 5.0, 5.0, "here")), (ANN, ResolveIssue(I1))), REV, AcceptReview()
    )

    assert code == "open_issues"
    assert events == [ReviewAccepted(REV)]


def test_open_issues_do_not_block_a_rejection() -> None:
    events, _ = when(given(*LABELED, (REV, OpenIssue(I1, 5.0, 5.0, "here"))), REV, RejectReview("see issue"))

    assert events == [ReviewRejected(REV, "see issue")]


# Issues ----------------------------------------------------------------------------------------------


def test_opening_an_issue_on_a_shape() -> None:
    events, state = when(given(*LABELED), REV, OpenIssue(I1, 12.0, 14.5, "<b>corner</b>", S))

    assert events == [IssueOpened(REV, I1, 12.0, 14.5, S, "<b>corner</b>")]
    assert state_view(state)["issues"] == [
        {
            "id": I1,
            "x": 12.0,
            "y": 14.5,
            "shape_id": S,
            "text": "<b>corner</b>",
            "author": REV,
            "status": "open",
            "seq": 3,
            "comments": [],
        }
    ]


def test_an_issue_may_be_pinned_on_no_shape_and_on_an_unlabeled_image() -> None:
    events, state = when(given(), REV, OpenIssue(I1, 0.0, 80.0, "Nothing labeled here?"))

    assert events == [IssueOpened(REV, I1, 0.0, 80.0, None, "Nothing labeled here?")]
    assert state.issues[I1].shape_id is None


def test_an_issue_may_name_a_shape_deleted_since_the_save() -> None:
    """What the reviewer looks at is the save: its shapes can be pointed at even if someone deleted them."""
    state = given(*LABELED, (ANN, DeleteAllShapes()))

    events, _ = when(state, REV, OpenIssue(I1, 5.0, 5.0, "Why gone?", S))

    assert events == [IssueOpened(REV, I1, 5.0, 5.0, S, "Why gone?")]


def test_commenting_resolving_and_reopening_an_issue() -> None:
    state = given(*LABELED, (REV, OpenIssue(I1, 5.0, 5.0, "here")))

    commented, state = when(state, ANN, CommentIssue(I1, "Fixed, I think"))
    resolved, state = when(state, ANN, ResolveIssue(I1))
    resolved_view = state_view(state)["issues"][0]
    reopened, state = when(state, REV, ReopenIssue(I1))

    assert commented == [IssueCommented(ANN, I1, "Fixed, I think")]
    assert resolved == [IssueResolved(ANN, I1)]
    assert reopened == [IssueReopened(REV, I1)]
    assert resolved_view["status"] == "resolved"
    assert resolved_view["comments"] == [{"text": "Fixed, I think", "actor": ANN, "seq": 4}]
    assert state_view(state)["issues"][0]["status"] == "open"


def test_issues_keep_the_order_they_were_opened_in() -> None:
    state = given(
        (REV, OpenIssue(I2, 1.0, 1.0, "b")), (REV, OpenIssue(I1, 2.0, 2.0, "a")), (ANN, ResolveIssue(I2))
    )

    assert [i["id"] for i in state_view(state)["issues"]] == [I2, I1]


@pytest.mark.parametrize(
    "command",
    [CommentIssue(I2, "hi"), ResolveIssue(I2), ReopenIssue(I2)],
    ids=["comment", "resolve", "reopen"],
)
def test_an_unknown_issue_is_refused(command: Command) -> None:
    assert refused(given((REV, OpenIssue(I1, 5.0, 5.0, "here"))), ANN, command) == "unknown_issue"


def test_resolving_a_resolved_issue_is_refused() -> None:
    state = given((REV, OpenIssue(I1, 5.0, 5.0, "here")), (ANN, ResolveIssue(I1)))

    assert refused(state, ANN, ResolveIssue(I1)) == "issue_already_resolved"


def test_reopening_an_open_issue_is_refused() -> None:
    assert (
        refused(given((REV, OpenIssue(I1, 5.0, 5.0, "here"))), REV, ReopenIssue(I1)) == "issue_already_open"
    )


def test_an_issue_id_is_used_once() -> None:
    assert refused(given((REV, OpenIssue(I1, 5.0, 5.0, "here"))), REV, OpenIssue(I1, 6.0, 6.0, "again")) == (
        "issue_exists"
    )


@pytest.mark.parametrize(
    ("x", "y"), [(math.nan, 5.0), (5.0, math.inf), (-math.inf, 1.0)], ids=["nan", "inf", "-inf"]
)
def test_an_issue_at_a_non_finite_point_is_refused(x: float, y: float) -> None:
    assert refused(given(), REV, OpenIssue(I1, x, y, "here")) == "non_finite_coordinate"


@pytest.mark.parametrize(
    ("x", "y"), [(-0.5, 5.0), (100.5, 5.0), (5.0, 80.01)], ids=["left", "right", "below"]
)
def test_an_issue_outside_the_image_is_refused(x: float, y: float) -> None:
    assert refused(given(), REV, OpenIssue(I1, x, y, "here")) == "polygon_outside_image"


def test_an_issue_on_an_unknown_shape_is_refused() -> None:
    assert refused(given(*LABELED), REV, OpenIssue(I1, 5.0, 5.0, "here", T)) == "unknown_shape"


def test_an_issue_on_someone_elses_draft_is_refused() -> None:
    from apps.labeling.domain.commands import AddVertex

    assert (
        refused(given((ANN, AddVertex(T, 5.0, 5.0))), REV, OpenIssue(I1, 5.0, 5.0, "x", T)) == "unknown_shape"
    )


# The text rule and the parser -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wire",
    [
        {"type": "reject_review", "reason": ""},
        {"type": "reject_review", "reason": " \n\t"},
        {"type": "reject_review", "reason": "x" * 2001},
        {"type": "reject_review", "reason": "a\x00b"},
        {"type": "reject_review", "reason": 7},
        {"type": "reject_review"},
        {"type": "open_issue", "issue_id": I1, "x": 1, "y": 1, "text": ""},
        {"type": "open_issue", "issue_id": "not-a-uuid", "x": 1, "y": 1, "text": "a"},
        {"type": "open_issue", "issue_id": I1, "x": "1", "y": 1, "text": "a"},
        {"type": "open_issue", "issue_id": I1, "x": 1, "y": 1, "text": "a", "shape_id": 5},
        {"type": "comment_issue", "issue_id": I1, "text": "y" * 2001},
        {"type": "accept_review", "reason": "extra"},
    ],
    ids=[
        "empty",
        "blank",
        "too long",
        "control",
        "not text",
        "missing",
        "empty issue",
        "bad id",
        "x text",
        "shape id number",
        "long comment",
        "extra field",
    ],
)
def test_the_parser_refuses_bad_review_commands(wire: dict[str, Any]) -> None:
    with pytest.raises(Rejected) as info:
        parse_command(wire)

    assert info.value.code == "invalid_command"


def test_the_longest_text_and_line_breaks_are_taken_as_plain_text() -> None:
    reason = "<script>alert(1)</script>\n" + "x" * (2000 - 26)

    assert parse_command({"type": "reject_review", "reason": reason}) == RejectReview(reason)
    assert parse_command(
        {"type": "open_issue", "issue_id": I1, "x": 1, "y": 2, "text": "a", "shape_id": None}
    ) == (OpenIssue(I1, 1.0, 2.0, "a", None))


# Undo and redo skip review ---------------------------------------------------------------------------


def test_undo_takes_back_the_last_shape_action_not_a_review_event_after_it() -> None:
    state = given(
        (ANN, AddPolygon(S, CAT, SQUARE)),
        (ANN, Save()),
        (ANN, MoveShape(S, 5.0, 0.0)),
        (ANN, OpenIssue(I1, 5.0, 5.0, "note to self")),
        (REV, RejectReview("no")),
    )

    _, undone = when(state, ANN, Undo())

    assert undone.shapes[S].points == SQUARE  # the move was undone
    assert undone.issues == state.issues and undone.review == state.review
    assert refused(given(*LABELED, (REV, AcceptReview())), REV, Undo()) == "nothing_to_undo"
