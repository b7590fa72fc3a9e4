"""review migration 0004: seats left with people who were removed from the job, or whose role no longer
does that work, before removals and role changes emptied them (docs/review.md, "A member who leaves gives
up their seats"), go to nobody, each recorded; the seats of members who may hold them stay."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps as global_apps

migration = importlib.import_module("apps.review.migrations.0004_release_seats_of_former_members")

pytestmark = pytest.mark.django_db


def test_seats_of_former_members_and_of_roles_that_do_not_do_the_work_go_to_nobody(
    job: Any, items: list[Any], manager: Any, annotator: Any, annotator2: Any, outsider: Any
) -> None:
    from apps.review.models import Assignment, AssignmentChange

    # Written as they were left before the rule: an outsider (a former member) labels items[0], an
    # annotator reviews items[1] (their role was reviewer once); items[2]'s seats are held as they may be.
    Assignment.objects.create(item=items[0], job=job, annotator=outsider, reviewer=manager)
    Assignment.objects.create(item=items[1], job=job, annotator=annotator2, reviewer=annotator)
    Assignment.objects.create(item=items[2], job=job, annotator=annotator, reviewer=manager)

    migration.release(global_apps, None)

    seats = dict(Assignment.objects.values_list("item_id", "annotator_id").order_by())
    reviewers = dict(Assignment.objects.values_list("item_id", "reviewer_id").order_by())
    assert seats == {items[0].pk: None, items[1].pk: annotator2.pk, items[2].pk: annotator.pk}
    assert reviewers == {items[0].pk: manager.pk, items[1].pk: None, items[2].pk: manager.pk}
    record = sorted(AssignmentChange.objects.values_list("item_id", "role", "previous_id", "assignee_id"))
    assert record == sorted(
        [(items[0].pk, "annotator", outsider.pk, None), (items[1].pk, "reviewer", annotator.pk, None)]
    )
    assert len(set(AssignmentChange.objects.values_list("batch", flat=True))) == 1  # one batch per job
