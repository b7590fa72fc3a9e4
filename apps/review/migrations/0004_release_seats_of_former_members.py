"""Seats held by people who are no longer members of the job, or whose role no longer does that work, go to
nobody (docs/review.md, "A member who leaves gives up their seats"): removals and role changes made before
that rule left them, and "Start labeling" never offered those images. Each emptied seat is recorded as any
change of a seat is (AssignmentChange, by nobody: a migration, one batch per job). Nothing to reverse: the
record keeps who held each seat."""

from __future__ import annotations

import uuid

from django.db import migrations
from django.db.models import Exists, OuterRef, Q

SEAT_ROLES = {"annotator": ("annotator", "manager"), "reviewer": ("reviewer", "manager")}


def release(apps, schema_editor) -> None:  # noqa: ARG001
    Assignment = apps.get_model("review", "Assignment")
    AssignmentChange = apps.get_model("review", "AssignmentChange")
    JobMember = apps.get_model("labeling", "JobMember")
    batches: dict[int, uuid.UUID] = {}
    for seat, roles in SEAT_ROLES.items():
        may_hold = JobMember.objects.filter(
            job_id=OuterRef("job_id"), user_id=OuterRef(f"{seat}_id"), role__in=roles
        )
        stale = Assignment.objects.filter(~Q(**{f"{seat}_id": None})).exclude(Exists(may_hold))
        rows = list(stale.values_list("item_id", "job_id", f"{seat}_id"))
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            AssignmentChange.objects.bulk_create(
                AssignmentChange(
                    job_id=job_id,
                    item_id=item_id,
                    role=seat,
                    previous_id=holder,
                    assignee_id=None,
                    changed_by_id=None,
                    batch=batches.setdefault(job_id, uuid.uuid4()),
                )
                for item_id, job_id, holder in chunk
            )
            Assignment.objects.filter(item_id__in=[item_id for item_id, _, _ in chunk]).update(
                **{f"{seat}_id": None}
            )


class Migration(migrations.Migration):
    dependencies = [("review", "0003_next_claim"), ("labeling", "0012_review")]

    operations = [migrations.RunPython(release, migrations.RunPython.noop)]
