"""What keeps a job of a million images fast (issue 21, point 4), checked for behaviour, never for speed:
page counts from the job's tallies equal the rows after any history, the job's progress comes from the
tallies, a sync reads only the images after the last it synced (and an import's own sync catches one
committed late), and each filter's page is read through its index."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection

from apps.datasets.models import Image
from apps.datasets.services import image_create
from apps.datasets.signals import images_imported
from apps.labeling import selectors, services
from apps.labeling.models import Item, JobTally, LabelingJob
from apps.labeling.readmodels import job_tally_count, job_tally_read
from tests.conftest import png_bytes, square

pytestmark = pytest.mark.django_db


def page_count(api: Any, job: Any, query: str) -> int:
    response = api.get(f"/api/jobs/{job.pk}/items/?{query}")
    assert response.status_code == 200, response.json()
    return response.json()["count"]


def tally_filters(job: Any, labels: Any, users: list[Any]) -> dict[str, dict[str, Any]]:
    """Each query the tallies answer, with its validated form (as ItemListQuerySerializer gives it)."""
    base = {"status": "all", "hard_example": None}
    out = {
        "": base,
        "status=labeled": {**base, "status": "labeled"},
        "status=unlabeled": {**base, "status": "unlabeled"},
        "hard_example=true": {**base, "hard_example": True},
        "hard_example=false": {**base, "hard_example": False},
    }
    for label in labels.values():
        out[f"label_class={label.pk}"] = {**base, "label_class": [label.pk]}
    for user in users:
        out[f"labeled_by={user.pk}"] = {**base, "labeled_by": user.pk}
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_page_counts_from_the_tallies_equal_the_rows_after_random_histories(
    seed: int,
    job: Any,
    labels: Any,
    annotator: Any,
    annotator2: Any,
    manager: Any,
    manager_api: Any,
    client_for: Any,
    send: Any,
) -> None:
    for n in range(9):
        image_create(dataset=job.dataset, path=f"more/extra_{n}.png", content=png_bytes(100, 80))
    services.job_sync(job=job)
    rng = random.Random(seed)
    users = [annotator, annotator2, manager]
    clients = [client_for(user) for user in users]
    items = list(Item.objects.filter(job=job).order_by("id"))
    label_ids = [label.pk for label in labels.values()]
    for step in range(160):
        item, client = rng.choice(items), rng.choice(clients)
        kind = rng.choice(["polygon", "polygon", "save", "save", "hard", "unhard", "undo", "clear"])
        command: dict[str, Any] = {
            "polygon": {
                "type": "add_polygon",
                "shape_id": f"00000000-0000-0000-0000-{step:012d}",
                "label_class_id": rng.choice(label_ids),
                "points": square(rng.uniform(0, 60), rng.uniform(0, 40), 10),
            },
            "save": {"type": "save"},
            "hard": {"type": "mark_hard_example"},
            "unhard": {"type": "unmark_hard_example"},
            "undo": {"type": "undo"},
            "clear": {"type": "delete_all_shapes"},
        }[kind]
        assert send(client, item.pk, command).status in (
            201,
            422,
        )  # a refusal (nothing to undo) changes nothing
    services.items_delete(items=rng.sample(items, 2), actor=manager)

    assert {k: n for k, n in job_tally_read(job.pk).items() if n} == {
        k: n for k, n in job_tally_count(job.pk).items() if n
    }
    for query, validated in tally_filters(job, labels, users).items():
        assert selectors.item_list_count(job_id=job.pk, query=validated) is not None, query
        rows = selectors.item_list_for(job, validated).count()
        assert page_count(manager_api, job, query) == rows, query


def test_page_counts_of_hard_examples_and_labelers_come_from_the_tallies(
    job: Any, annotator: Any, manager_api: Any
) -> None:
    JobTally.objects.create(job=job, key="hard", count=70)
    JobTally.objects.create(job=job, key=f"labeled_by:{annotator.pk}", count=80)
    JobTally.objects.filter(job=job, key="items").update(count=100)

    assert page_count(manager_api, job, "hard_example=true") == 70
    assert page_count(manager_api, job, "hard_example=false") == 30
    assert page_count(manager_api, job, f"labeled_by={annotator.pk}") == 80
    # No tally answers a search or two filters at once: those are counted.
    assert page_count(manager_api, job, "q=cat") == 1
    assert page_count(manager_api, job, "status=unlabeled&hard_example=false") == 3


def test_the_jobs_progress_comes_from_the_tallies(job: Any, manager_api: Any) -> None:
    JobTally.objects.filter(job=job, key="items").update(count=1_000_000)
    JobTally.objects.create(job=job, key="labeled", count=250_000)

    assert manager_api.get(f"/api/jobs/{job.pk}/").json()["progress"] == {
        "labeled": 250_000,
        "total": 1_000_000,
    }
    listed = next(row for row in manager_api.get("/api/jobs/").json() if row["id"] == job.pk)
    assert listed["progress"] == {"labeled": 250_000, "total": 1_000_000}


def test_a_sync_reads_only_the_images_after_the_last_it_synced(job: Any, manager_api: Any) -> None:
    def image(pk: int) -> Image:
        return Image.objects.create(
            pk=pk,
            dataset=job.dataset,
            file=f"x/{pk}.png",
            name=f"{pk}.png",
            path=f"x/{pk}.png",
            width=9,
            height=9,
            checksum=f"{pk:064x}",
        )

    # Ids above the fixture's images, whatever the sequence stands at (PostgreSQL's does not go back when
    # a test's transaction is rolled back).
    top = Image.objects.order_by("-pk").values_list("pk", flat=True).first()
    image(top + 1000)
    assert manager_api.post(f"/api/jobs/{job.pk}/sync/").json() == {"added": 1, "total": 4}
    assert LabelingJob.objects.get(pk=job.pk).synced_image_id == top + 1000

    # An image whose import committed after that sync went past its id (two imports at once) ...
    late = image(top + 500)
    assert manager_api.post(f"/api/jobs/{job.pk}/sync/").json() == {"added": 0, "total": 4}
    # ... is found by the sync its import sends once it has committed, which reads the whole dataset.
    images_imported.send(sender=None, dataset_id=job.dataset_id, added=1)
    assert Item.objects.filter(job=job, image=late).exists()
    assert manager_api.post(f"/api/jobs/{job.pk}/sync/").json() == {"added": 0, "total": 5}
    assert job_tally_read(job.pk)["items"] == 5


FILTER_INDEXES = {
    "status": ({"status": "labeled"}, "item_status_in_job"),
    "hard_example": ({"hard_example": True}, "item_hard_in_job"),
}


@pytest.fixture
def crowded_job(job: Any, annotator: Any, manager: Any) -> Any:
    """The job with 3,000 more items, interleaved with another job's 3,000, one in ten labeled and one in
    ten hard (by id, not together), and planner statistics."""
    other = services.job_create(name="other", dataset=job.dataset, created_by=manager)
    images = Image.objects.bulk_create(
        Image(dataset=job.dataset, file=f"c/{n}.png", name=f"c{n}.png", path=f"c/{n}.png", width=9, height=9)
        for n in range(3000)
    )
    Item.objects.bulk_create(
        Item(
            job=owner,
            image=image,
            status="labeled" if n % 10 == 0 else "unlabeled",
            labeled_by=annotator if n % 10 == 0 else None,
            hard_example=n % 10 == 5,
        )
        for n, image in enumerate(images)
        for owner in (job, other)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE labeling_item")
    return job


@pytest.mark.postgres  # the plans that matter at a million items are PostgreSQL's
@pytest.mark.parametrize("name", list(FILTER_INDEXES))
def test_each_filters_deep_page_is_read_through_its_index(
    name: str, crowded_job: Any, annotator: Any
) -> None:
    kwargs, index = FILTER_INDEXES[name]
    query = selectors.item_list(job=crowded_job, **kwargs)[200:250].query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f" on {index}" in plan or f"using {index} " in plan, plan


@pytest.mark.postgres  # the trigram indexes exist on PostgreSQL only
def test_the_search_indexes_keep_no_pending_list() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relname IN "
            "('datasets_image_name_trgm', 'datasets_image_path_trgm')"
        )
        options = dict(cursor.fetchall())
    assert options and all("fastupdate=off" in (found or []) for found in options.values()), options
