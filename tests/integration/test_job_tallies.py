"""The read models behind a fast items list on a big job: the job tallies (the counts of the tabs and
labels, kept by every write) and the label slots (the label filter as one bit test per item)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.labeling import services
from apps.labeling.models import Item, JobTally, LabelClass
from apps.labeling.readmodels import job_tally_count, job_tally_read
from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db


def tallies(job: Any) -> dict[str, int]:
    return {key: n for key, n in job_tally_read(job.pk).items() if n}


def check() -> str:
    out, err = StringIO(), StringIO()
    try:
        call_command("rebuild_projections", "--check", stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue() + str(error)
    return out.getvalue()


def test_every_write_keeps_the_tallies_equal_to_a_recount(
    job: Any,
    items: list[Any],
    labels: Any,
    annotator: Any,
    annotator_api: Any,
    manager: Any,
    send: Any,
    add_polygon: Any,
) -> None:
    bird, cat, dog = items
    cat_label, dog_label = labels["cat"].pk, labels["dog"].pk
    saver = f"labeled_by:{annotator.pk}"
    review = "review:to_review"  # a labeled save goes to review (issue 24)
    assert tallies(job) == {"items": 3}

    add_polygon(annotator_api, cat.pk, cat_label)
    assert tallies(job) == {"items": 3, f"label:{cat_label}": 1}
    assert send(annotator_api, cat.pk, {"type": "save"}).status == 201
    assert tallies(job) == {"items": 3, "labeled": 1, saver: 1, review: 1, f"label:{cat_label}": 1}
    assert send(annotator_api, cat.pk, {"type": "mark_hard_example"}).status == 201
    assert tallies(job) == {"items": 3, "labeled": 1, saver: 1, review: 1, "hard": 1, f"label:{cat_label}": 1}

    add_polygon(annotator_api, dog.pk, dog_label)
    add_polygon(annotator_api, dog.pk, cat_label)
    assert send(annotator_api, dog.pk, {"type": "undo"}).status == 201
    assert tallies(job) == {
        "items": 3,
        "labeled": 1,
        saver: 1,
        review: 1,
        "hard": 1,
        f"label:{cat_label}": 1,
        f"label:{dog_label}": 1,
    }
    assert tallies(job) == {k: n for k, n in job_tally_count(job.pk).items() if n}

    services.items_delete(items=[Item.objects.get(pk=cat.pk)], actor=manager)
    assert tallies(job) == {"items": 2, f"label:{dog_label}": 1}
    # Deleting an item twice takes it out of the counts once.
    services.items_delete(items=[Item.objects.get(pk=cat.pk)], actor=manager)
    assert tallies(job) == {"items": 2, f"label:{dog_label}": 1}

    services.label_class_delete(label_class=labels["dog"], actor_id=manager.pk, cascade=True)
    assert tallies(job) == {"items": 2}

    from apps.datasets.services import image_create

    image_create(dataset=job.dataset, path="new/extra.png", content=png_bytes(20, 20))
    services.job_sync(job=job)
    services.job_sync(job=job)
    assert tallies(job) == {"items": 3}
    assert tallies(job) == {k: n for k, n in job_tally_count(job.pk).items() if n}
    assert "differences between" not in check()


def test_the_list_counts_come_from_the_tallies(job: Any, manager_api: Any) -> None:
    JobTally.objects.filter(job=job, key="items").update(count=1234)

    body = manager_api.get(f"/api/jobs/{job.pk}/items/").json()

    assert body["status_counts"]["all"] == 1234


def test_rebuild_reports_and_repairs_a_drifted_tally(
    job: Any, items: list[Any], labels: Any, annotator_api: Any, add_polygon: Any
) -> None:
    add_polygon(annotator_api, items[0].pk, labels["cat"].pk)
    JobTally.objects.filter(job=job, key=f"label:{labels['cat'].pk}").update(count=7)
    JobTally.objects.filter(job=job, key="items").delete()

    report = check()
    assert f"job {job.pk}: tally label:{labels['cat'].pk} is 7, the log says 1" in report
    assert f"job {job.pk}: tally items is 0, the log says 3" in report

    call_command("rebuild_projections", "--now", stdout=StringIO())
    assert tallies(job) == {"items": 3, f"label:{labels['cat'].pk}": 1}


def test_label_classes_get_distinct_slots_and_the_64th_has_none(job: Any) -> None:
    created = [services.label_class_create(job=job, name=f"extra {n}", color="#112233") for n in range(62)]
    slots = list(LabelClass.objects.filter(job=job).values_list("slot", flat=True))

    assert sorted(s for s in slots if s is not None) == list(range(63))
    assert created[-1].slot is None


def test_the_label_filter_answers_the_same_with_and_without_a_slot(
    job: Any, items: list[Any], labels: Any, annotator_api: Any, manager_api: Any, add_polygon: Any
) -> None:
    for n in range(62):
        services.label_class_create(job=job, name=f"extra {n}", color="#112233")
    slotless = LabelClass.objects.get(job=job, slot__isnull=True)
    bird, cat, dog = items
    add_polygon(annotator_api, cat.pk, labels["cat"].pk)
    add_polygon(annotator_api, dog.pk, slotless.pk)
    assert Item.objects.get(pk=cat.pk).label_bits == 1 << labels["cat"].slot
    assert Item.objects.get(pk=dog.pk).label_bits == 0

    def listed(query: str) -> list[int]:
        body = manager_api.get(f"/api/jobs/{job.pk}/items/?{query}").json()
        return sorted(item["id"] for item in body["results"])

    assert listed(f"label_class={labels['cat'].pk}") == [cat.pk]
    assert listed(f"label_class={slotless.pk}") == [dog.pk]
    assert listed(f"label_class={labels['cat'].pk},{slotless.pk}") == sorted([cat.pk, dog.pk])
    assert listed(f"label_class={labels['dog'].pk}") == []
