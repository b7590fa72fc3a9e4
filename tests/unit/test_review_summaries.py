"""The replay's one-line summaries of the review events (domain/audit/summary.py): every review event has
one, issues are named by their number on the image, and a person's text is quoted on one line, cut."""

from __future__ import annotations

from apps.labeling.domain import evolve, initial_state
from apps.labeling.domain.audit.summary import event_summary
from apps.labeling.domain.events import PolygonAdded, Saved
from apps.labeling.domain.review_messages import (
    IssueCommented,
    IssueOpened,
    IssueReopened,
    IssueResolved,
    ReviewAccepted,
    ReviewRejected,
    ReviewReopened,
)


def test_every_review_event_reads_as_a_sentence() -> None:
    events = [
        PolygonAdded(1, "s1", 7, ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0))),
        Saved(1),
        IssueOpened(2, "i1", 5.0, 5.0, "s1", "the corner\n  is off"),
        IssueOpened(2, "i2", 1.0, 1.0, None, "x" * 200),
        ReviewRejected(2, "see the issues"),
        IssueCommented(1, "i2", "fixed"),
        IssueResolved(1, "i2"),
        IssueReopened(2, "i2"),
        ReviewReopened(2),
        ReviewAccepted(2),
    ]
    state, lines = initial_state(100, 100), []
    for event in events:
        lines.append(event_summary(event, state, "ann" if event.actor == 1 else "rita", lambda _: "cat"))
        state = evolve(state, event)
    assert lines[2:] == [
        "rita opened issue 1 at (5, 5) on cat #1: “the corner is off”",
        f"rita opened issue 2 at (1, 1): “{'x' * 79}…”",
        "rita rejected the image: “see the issues”",
        "ann commented on issue 2: “fixed”",
        "ann resolved issue 2",
        "rita reopened issue 2",
        "rita reopened the image's review",
        "rita accepted the image",
    ]
    assert event_summary(IssueResolved(1, "i9"), None, "ann", lambda _: "cat") == "ann resolved an issue"
