"""Properties of review in the item's stream (issue 24): histories of shape commands by annotators mixed
with review and issue commands by a reviewer. Review events never change a shape, a save or an undo stack;
replaying a reviewed stream (from the start, or from a snapshot of any point) reproduces every state and
the review read models the items list and the job tallies are made of; an acceptance only ever follows a
labeled save with no open issue."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from apps.labeling.domain import Context, Rejected, decide, replay, state_from_dict, state_to_dict
from apps.labeling.domain.commands import Command
from apps.labeling.domain.evolve import evolve
from apps.labeling.domain.review_messages import (
    REVIEW_EVENTS,
    AcceptReview,
    CommentIssue,
    OpenIssue,
    RejectReview,
    ReopenIssue,
    ReopenReview,
    ResolveIssue,
    ReviewAccepted,
)
from apps.labeling.domain.state import ItemState, initial_state, open_issue_count
from apps.labeling.readmodels import live_columns
from tests.unit.test_domain_properties import (
    HEIGHT,
    LABELS,
    LIMITS,
    PROPERTY_SETTINGS,
    SHAPE_IDS,
    WIDTH,
    command,
)

REVIEWER = 9
ISSUE_IDS = [str(uuid.UUID(int=100 + n)) for n in range(4)]
texts = st.sampled_from(["Corner off", "<b>missing</b> a leg", "ok\nnow?", "x" * 2000])


@st.composite
def review_command(draw: st.DrawFn, state: ItemState) -> Command:
    """A review or issue command, mostly about things that exist."""
    issue_id = draw(st.sampled_from([*state.issues, *ISSUE_IDS]))
    shapes = [sid for sid, s in state.shapes.items() if s.closed]
    match draw(st.sampled_from(["accept", "reject", "reopen", "open", "comment", "resolve", "reissue"])):
        case "accept":
            return AcceptReview()
        case "reject":
            return RejectReview(draw(texts))
        case "reopen":
            return ReopenReview()
        case "open":
            shape_id = draw(st.sampled_from([None, *shapes, SHAPE_IDS[-1]]))
            x = draw(st.sampled_from([0.0, 12.5, float(WIDTH), WIDTH + 1.0, float("nan")]))
            return OpenIssue(issue_id, x, draw(st.floats(0, HEIGHT)), draw(texts), shape_id)
        case "comment":
            return CommentIssue(issue_id, draw(texts))
        case "resolve":
            return ResolveIssue(issue_id)
        case _:
            return ReopenIssue(issue_id)


def history(data: st.DataObject) -> list[tuple[ItemState, Any, ItemState]]:
    """(before, event, after) for every event of a drawn history; refused commands left out."""
    state = initial_state(WIDTH, HEIGHT)
    steps = []
    for _ in range(data.draw(st.integers(5, 60), label="length")):
        reviewing = data.draw(st.integers(0, 2), label="who") == 0
        actor = REVIEWER if reviewing else data.draw(st.integers(1, 2), label="annotator")
        cmd = data.draw(
            review_command(state) if reviewing else command(state, actor, SHAPE_IDS), label="command"
        )
        try:
            events = decide(state, cmd, Context(actor=actor, label_class_ids=LABELS, limits=LIMITS))
        except Rejected:
            continue
        for event in events:
            after = evolve(state, event)
            steps.append((state, event, after))
            state = after
    return steps


def review_columns(state: ItemState) -> dict[str, Any]:
    columns = live_columns(state, {}, {})
    return {"review_status": columns["review_status"], "open_issues": columns["open_issues"]}


@PROPERTY_SETTINGS
@given(data=st.data())
def test_review_events_never_change_shapes_saves_or_undo_stacks(data: st.DataObject) -> None:
    for before, event, after in history(data):
        if isinstance(event, REVIEW_EVENTS):
            assert after.shapes == before.shapes
            assert (after.saved, after.saved_seq) == (before.saved, before.saved_seq)
            assert (after.undo, after.redo) == (before.undo, before.redo)
            assert after.next_number == before.next_number and after.hard_example == before.hard_example
        else:
            assert after.issues == before.issues


@PROPERTY_SETTINGS
@given(data=st.data())
def test_replaying_a_reviewed_stream_reproduces_its_states_and_review_read_models(
    data: st.DataObject,
) -> None:
    steps = history(data)
    events = [event for _, event, _ in steps]
    start = initial_state(WIDTH, HEIGHT)

    replayed = replay(start, events)

    final = steps[-1][2] if steps else start
    assert replayed == final
    assert review_columns(replayed) == review_columns(final)
    for k, (_, _, state) in enumerate(steps):
        # From a snapshot taken at any point, the rest of the stream leads to the same end.
        restored = state_from_dict(state_to_dict(state))
        assert restored == state
        assert replay(restored, events[k + 1 :]) == final


@PROPERTY_SETTINGS
@given(data=st.data())
def test_an_acceptance_follows_only_a_labeled_save_without_open_issues(data: st.DataObject) -> None:
    for before, event, after in history(data):
        if isinstance(event, ReviewAccepted):
            assert before.saved_seq > 0 and before.saved
            assert open_issue_count(before) == 0
        assert (after.review.status == "none") == (not after.saved)
