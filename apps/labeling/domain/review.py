"""Review in the item's own stream (issue 24, docs/review.md): accept, reject and reopen an image, and issues
pinned to a point of it. Deciding and folding them is kept here; decide and evolve hand these over.

None of this changes a shape or an undo stack: review events are not actions a person undoes, and they
leave the labels exactly as they were (a hypothesis test holds it to that).
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import Rejected
from .geometry import check_finite, fmt
from .review_messages import (
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
    ReviewCommand,
    ReviewEvent,
    ReviewRejected,
    ReviewReopened,
)
from .state import (
    ISSUE_OPEN,
    ISSUE_RESOLVED,
    REVIEW_ACCEPTED,
    REVIEW_NONE,
    REVIEW_REJECTED,
    REVIEW_TO_REVIEW,
    Actor,
    Comment,
    Issue,
    ItemState,
    Review,
    Shape,
    content,
    open_issue_count,
)

# Bounds that keep one image's threads readable and its state small.
MAX_ISSUES = 1000  # issues on one image
MAX_COMMENTS = 1000  # comments in one issue's thread


def _reviewable(state: ItemState, verb: str) -> None:
    """Only a saved, labeled item is accepted or rejected: what is reviewed is the last save."""
    if state.saved_seq == 0:
        raise Rejected("not_saved", f"This image has never been saved; there is nothing to {verb} yet.")
    if not state.saved:
        raise Rejected(
            "not_labeled", f"The last save of this image holds no shape; there is nothing to {verb}."
        )


def _issue(state: ItemState, issue_id: str) -> Issue:
    issue = state.issues.get(issue_id)
    if issue is None:
        raise Rejected("unknown_issue", f"There is no issue {issue_id} on this image.")
    return issue


def _pinned_shape(state: ItemState, shape_id: str) -> None:
    """An issue names a closed shape of the image as it is now or as it was saved (what the reviewer saw)."""
    shape = state.shapes.get(shape_id) or state.saved.get(shape_id)
    if shape is None or not shape.closed:
        raise Rejected(
            "unknown_shape", f"There is no closed shape {shape_id} on this image to pin an issue on."
        )


def decide_review(state: ItemState, command: ReviewCommand, actor: Actor) -> list[ReviewEvent]:
    match command:
        case AcceptReview():
            _reviewable(state, "accept")
            open_issues = open_issue_count(state)
            if open_issues:
                raise Rejected(
                    "open_issues",
                    f"This image has {open_issues} open issue{'s' if open_issues > 1 else ''}; "
                    "they are resolved before it is accepted.",
                )
            return [] if state.review.status == REVIEW_ACCEPTED else [ReviewAccepted(actor)]
        case RejectReview(reason=reason):
            _reviewable(state, "reject")
            return [ReviewRejected(actor, reason)]
        case ReopenReview():
            if state.review.status == REVIEW_TO_REVIEW:
                return []
            if state.review.status == REVIEW_NONE:
                raise Rejected("not_reviewed", "This image is not labeled yet; there is no review to reopen.")
            return [ReviewReopened(actor)]
        case OpenIssue(issue_id=issue_id, x=x, y=y, text=text, shape_id=shape_id):
            if issue_id in state.issues:
                raise Rejected("issue_exists", f"Issue id {issue_id} is already used on this image.")
            if len(state.issues) >= MAX_ISSUES:
                raise Rejected("too_many_issues", f"An image holds at most {MAX_ISSUES} issues.")
            check_finite(x, y, what="Point")
            if not (0 <= x <= state.width and 0 <= y <= state.height):  # the code a vertex outside gets
                raise Rejected(
                    "polygon_outside_image",
                    f"The point ({fmt(x)}, {fmt(y)}) lies outside the {fmt(state.width)}x{fmt(state.height)} "
                    "image; an issue is pinned inside it.",
                )
            if shape_id is not None:
                _pinned_shape(state, shape_id)
            return [IssueOpened(actor, issue_id, x, y, shape_id, text)]
        case CommentIssue(issue_id=issue_id, text=text):
            if len(_issue(state, issue_id).comments) >= MAX_COMMENTS:
                raise Rejected("too_many_comments", f"An issue holds at most {MAX_COMMENTS} comments.")
            return [IssueCommented(actor, issue_id, text)]
        case ResolveIssue(issue_id=issue_id):
            if _issue(state, issue_id).status == ISSUE_RESOLVED:
                raise Rejected("issue_already_resolved", "This issue is resolved already.")
            return [IssueResolved(actor, issue_id)]
        case ReopenIssue(issue_id=issue_id):
            if _issue(state, issue_id).status == ISSUE_OPEN:
                raise Rejected("issue_already_open", "This issue is open already.")
            return [IssueReopened(actor, issue_id)]


def _with_issue(issues: Mapping[str, Issue], issue: Issue) -> dict[str, Issue]:
    return {**issues, issue.id: issue}


def evolve_review(state: ItemState, seq: int, event: ReviewEvent) -> tuple[Review, Mapping[str, Issue]]:
    """The item's review and issues after a review event (at `seq`); the rest of the state stays."""
    review, issues = state.review, state.issues
    match event:
        case ReviewAccepted(actor=actor):
            return Review(REVIEW_ACCEPTED, None, actor, seq), issues
        case ReviewRejected(actor=actor, reason=reason):
            return Review(REVIEW_REJECTED, reason, actor, seq), issues
        case ReviewReopened(actor=actor):
            return Review(REVIEW_TO_REVIEW, None, actor, seq), issues
        case IssueOpened(actor=actor, issue_id=issue_id, x=x, y=y, shape_id=shape_id, text=text):
            return review, _with_issue(issues, Issue(issue_id, x, y, shape_id, text, actor, ISSUE_OPEN, seq))
    # The others act on an issue that decide found; a stream that lacks it is left as it is (evolve is total).
    issue = issues.get(event.issue_id)
    if issue is None:
        return review, issues
    match event:
        case IssueCommented(actor=actor, text=text):
            issue = Issue(*_fields(issue)[:8], (*issue.comments, Comment(text, actor, seq)))
        case IssueResolved():
            issue = Issue(*_fields(issue)[:6], ISSUE_RESOLVED, issue.seq, issue.comments)
        case IssueReopened():
            issue = Issue(*_fields(issue)[:6], ISSUE_OPEN, issue.seq, issue.comments)
    return review, _with_issue(issues, issue)


def _fields(issue: Issue) -> tuple:
    return (issue.id, issue.x, issue.y, issue.shape_id, issue.text, issue.author, issue.status, issue.seq)


def review_after_save(
    review: Review, before: Mapping[str, Shape], after: Mapping[str, Shape], seq: int
) -> Review:
    """What a save (at `seq`) does to the review: a save holding no shape leaves nothing to review
    ("none"); a labeled save goes to review, except that an accepted item stays accepted when the save
    changed nothing of its labels (a save to be sure is no new work)."""
    if not after:
        return Review()
    if review.status == REVIEW_ACCEPTED and _saved_content(before) == _saved_content(after):
        return review
    return Review(REVIEW_TO_REVIEW, None, None, seq)


def _saved_content(saved: Mapping[str, Shape]) -> dict[str, tuple]:
    return {shape_id: content(shape) for shape_id, shape in saved.items()}
