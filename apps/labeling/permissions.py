"""Who may do what on a job: roles rank auditor < reviewer < annotator < manager for reading and managing;
staff act as managers. Commands are authorised one by one (`command_require`): a reviewer reviews but
never labels, an auditor sends nothing (docs/review.md "Roles").

Anyone who is not a member is told the job does not exist (404), so ids leak nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from apps.common.errors import ApiError

from .domain.commands import COMMAND_NAMES, Command
from .domain.review_messages import (
    AcceptReview,
    CommentIssue,
    OpenIssue,
    RejectReview,
    ReopenIssue,
    ReopenReview,
    ResolveIssue,
)
from .models import Item, JobMember, LabelingJob, Role

RANK = {Role.AUDITOR: 0, Role.REVIEWER: 1, Role.ANNOTATOR: 2, Role.MANAGER: 3}
READ, WRITE, MANAGE = Role.AUDITOR, Role.ANNOTATOR, Role.MANAGER

# The review and issue commands each role may send (docs/review.md "Roles"); managers send every command,
# annotators every shape command as well, reviewers only these, auditors none.
_REVIEW_COMMANDS: dict[str, tuple[type, ...]] = {
    Role.MANAGER: (
        AcceptReview,
        RejectReview,
        ReopenReview,
        OpenIssue,
        CommentIssue,
        ResolveIssue,
        ReopenIssue,
    ),
    Role.REVIEWER: (
        AcceptReview,
        RejectReview,
        ReopenReview,
        OpenIssue,
        CommentIssue,
        ResolveIssue,
        ReopenIssue,
    ),
    Role.ANNOTATOR: (OpenIssue, CommentIssue, ResolveIssue),
    Role.AUDITOR: (),
}
_ALL_REVIEW_COMMANDS = _REVIEW_COMMANDS[Role.MANAGER]


def job_role(user: Any, job_id: int) -> str | None:
    """The user's role in the job (staff manage every job). One plain query: the websocket asks it again
    for every command, where the ORM's own cost would be most of the command's."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return Role.MANAGER
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT role FROM {JobMember._meta.db_table} WHERE job_id = %s AND user_id = %s",
            [job_id, user.pk],
        )
        found = cursor.fetchone()
    return None if found is None else found[0]


def job_role_now(user_id: int, job_id: int) -> str | None:
    """The user's role in the job as stored now, not as a long-lived user object remembers it: an open
    socket holds the user it authenticated at connect, and since then the user may have been
    deactivated, lost staff status or been removed from the job. Inactive users have no role."""
    users = get_user_model()._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.is_staff, m.role FROM {users} u LEFT JOIN {JobMember._meta.db_table} m"
            " ON m.user_id = u.id AND m.job_id = %s WHERE u.id = %s AND u.is_active",
            [job_id, user_id],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    is_staff, role = found
    return Role.MANAGER if is_staff else role


def role_require(role: str | None, need: str, what: str) -> None:
    """404 for no role (not a member, or nothing there: ids leak nothing), 403 for a role below `need`."""
    if role is None:
        raise ApiError(404, "not_found", f"There is no {what} here, or you are not a member of its job.")
    if RANK[role] < RANK[need]:
        verbs = {WRITE: "label", MANAGE: "manage this job"}
        raise ApiError(403, "permission_denied", f"Your role ({role}) may not {verbs.get(need, 'do that')}.")


def command_require(role: str | None, command: Command, what: str) -> None:
    """The one check of a command against the sender's role, REST or websocket: 404 for no role, 403
    (permission_denied) for a command the role may not send. A shape command needs a labeling role
    (annotator, manager); a review or issue command, one of the roles `_REVIEW_COMMANDS` names."""
    if role is None or not isinstance(command, _ALL_REVIEW_COMMANDS):
        role_require(role, WRITE, what)
        return
    if not isinstance(command, _REVIEW_COMMANDS[role]):
        name = COMMAND_NAMES[type(command)]
        raise ApiError(403, "permission_denied", f"Your role ({role}) may not send {name}.")


def job_for(user: Any, job_id: int, need: str = READ) -> tuple[LabelingJob, str]:
    job = LabelingJob.objects.filter(pk=job_id).first()
    role = job_role(user, job_id) if job is not None else None
    role_require(role, need, f"job {job_id}")
    assert job is not None and role is not None
    return job, role


def item_for(user: Any, item_id: int, need: str = READ) -> tuple[Item, str]:
    item = Item.objects.select_related("image").filter(pk=item_id).first()
    role = job_role(user, item.job_id) if item is not None else None
    role_require(role, need, f"item {item_id}")
    assert item is not None and role is not None
    return item, role
