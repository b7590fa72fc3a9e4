"""Who may do what on a job: roles rank auditor < annotator < manager; staff act as managers.

Anyone who is not a member is told the job does not exist (404), so ids leak nothing.
"""

from __future__ import annotations

from typing import Any

from apps.common.errors import ApiError

from .models import Item, JobMember, LabelingJob, Role

RANK = {Role.AUDITOR: 0, Role.ANNOTATOR: 1, Role.MANAGER: 2}
READ, WRITE, MANAGE = Role.AUDITOR, Role.ANNOTATOR, Role.MANAGER


def job_role(user: Any, job_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return Role.MANAGER
    return JobMember.objects.filter(job_id=job_id, user_id=user.pk).values_list("role", flat=True).first()


def _require(role: str | None, need: str, what: str) -> None:
    if role is None:
        raise ApiError(404, "not_found", f"There is no {what} here, or you are not a member of its job.")
    if RANK[role] < RANK[need]:
        verbs = {WRITE: "label", MANAGE: "manage this job"}
        raise ApiError(403, "permission_denied", f"Your role ({role}) may not {verbs.get(need, 'do that')}.")


def job_for(user: Any, job_id: int, need: str = READ) -> tuple[LabelingJob, str]:
    job = LabelingJob.objects.filter(pk=job_id).first()
    role = job_role(user, job_id) if job is not None else None
    _require(role, need, f"job {job_id}")
    assert job is not None and role is not None
    return job, role


def item_for(user: Any, item_id: int, need: str = READ) -> tuple[Item, str]:
    item = Item.objects.select_related("image").filter(pk=item_id).first()
    role = job_role(user, item.job_id) if item is not None else None
    _require(role, need, f"item {item_id}")
    assert item is not None and role is not None
    return item, role
