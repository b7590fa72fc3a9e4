"""The review vocabulary on the wire (issue 24, docs/review.md): its commands, its events, and how the one
command parser reads their fields. commands.py and events.py register them; review.py decides and folds.

None of them is a shape command: the reviewer role sends only these, and their events change no shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import Rejected

Actor = int

# Commands ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AcceptReview:
    pass


@dataclass(frozen=True, slots=True)
class RejectReview:
    reason: str


@dataclass(frozen=True, slots=True)
class ReopenReview:
    pass


@dataclass(frozen=True, slots=True)
class OpenIssue:
    """Pin a remark at (x, y) of the image, maybe on a shape; `issue_id` is the client's UUID for it."""

    issue_id: str
    x: float
    y: float
    text: str
    shape_id: str | None = None


@dataclass(frozen=True, slots=True)
class CommentIssue:
    issue_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ResolveIssue:
    issue_id: str


@dataclass(frozen=True, slots=True)
class ReopenIssue:
    issue_id: str


ReviewCommand = (
    AcceptReview | RejectReview | ReopenReview | OpenIssue | CommentIssue | ResolveIssue | ReopenIssue
)
REVIEW_COMMAND_TYPES: dict[str, type] = {
    "accept_review": AcceptReview,
    "reject_review": RejectReview,
    "reopen_review": ReopenReview,
    "open_issue": OpenIssue,
    "comment_issue": CommentIssue,
    "resolve_issue": ResolveIssue,
    "reopen_issue": ReopenIssue,
}
REVIEW_COMMANDS: tuple[type, ...] = tuple(REVIEW_COMMAND_TYPES.values())

# Events --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewAccepted:
    actor: Actor


@dataclass(frozen=True, slots=True)
class ReviewRejected:
    actor: Actor
    reason: str


@dataclass(frozen=True, slots=True)
class ReviewReopened:
    """An accepted or rejected item went back to "to_review"."""

    actor: Actor


@dataclass(frozen=True, slots=True)
class IssueOpened:
    actor: Actor
    issue_id: str
    x: float
    y: float
    shape_id: str | None  # always in the payload: null for an issue pinned on no shape
    text: str


@dataclass(frozen=True, slots=True)
class IssueCommented:
    actor: Actor
    issue_id: str
    text: str


@dataclass(frozen=True, slots=True)
class IssueResolved:
    actor: Actor
    issue_id: str


@dataclass(frozen=True, slots=True)
class IssueReopened:
    actor: Actor
    issue_id: str


ReviewEvent = (
    ReviewAccepted
    | ReviewRejected
    | ReviewReopened
    | IssueOpened
    | IssueCommented
    | IssueResolved
    | IssueReopened
)
REVIEW_EVENT_TYPES: dict[str, type] = {
    "review_accepted": ReviewAccepted,
    "review_rejected": ReviewRejected,
    "review_reopened": ReviewReopened,
    "issue_opened": IssueOpened,
    "issue_commented": IssueCommented,
    "issue_resolved": IssueResolved,
    "issue_reopened": IssueReopened,
}
REVIEW_EVENTS: tuple[type, ...] = tuple(REVIEW_EVENT_TYPES.values())

# Fields --------------------------------------------------------------------------------------------

# A review's reason and an issue's text and comments: plain text (never read as markup), 1 to 2000
# characters, not only blanks; line breaks and tabs are the only control characters let through.
MAX_TEXT = 2000


def _invalid(message: str) -> Rejected:
    return Rejected("invalid_command", message)


def parse_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{name} must be a non-empty text.")
    if len(value) > MAX_TEXT:
        raise _invalid(f"{name} has {len(value)} characters; at most {MAX_TEXT}.")
    if any(not c.isprintable() and not c.isspace() for c in value):
        raise _invalid(f"{name} holds a control character (only line breaks and tabs are allowed).")
    return value


def parse_uuid(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a UUID string.")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _invalid(f"{name} {value[:60]!r} is not a UUID.") from None


REVIEW_FIELD_PARSERS: dict[str, Callable[[Any], Any]] = {
    "issue_id": lambda v: parse_uuid("issue_id", v),
    "reason": lambda v: parse_text("reason", v),
    "text": lambda v: parse_text("text", v),
}
# Fields that one command reads otherwise than the others do: an issue may be pinned on no shape (null).
REVIEW_COMMAND_FIELD_PARSERS: dict[tuple[type, str], Callable[[Any], Any]] = {
    (OpenIssue, "shape_id"): lambda v: None if v is None else parse_uuid("shape_id", v),
}
