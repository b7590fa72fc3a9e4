"""Build a large job fast, with bulk inserts: items with read models and hash-chained event streams.

For benchmarks (`make bench`): the items list under each filter is measured on what this makes.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.datasets.models import Dataset, Image
from apps.labeling import store
from apps.labeling.domain.events import HardExampleMarked, PolygonAdded, Saved
from apps.labeling.models import (
    Item,
    ItemLabel,
    ItemStatus,
    JobMember,
    LabelClass,
    LabelingJob,
    ReviewStatus,
    Role,
    StoredEvent,
)
from apps.labeling.readmodels import job_tally_differences, label_bits

LABELS = ["person", "car", "dog", "cat", "bicycle"]


def square(n: int) -> tuple[tuple[float, float], ...]:
    x, y = 10.0 + (n % 20) * 40, 10.0 + (n // 20 % 15) * 40
    return ((x, y), (x + 30, y), (x + 30, y + 30), (x, y + 30))


class Command(BaseCommand):
    help = "Create a job of N items and about M events with bulk inserts (for benchmarks). Prints the job id."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--items", type=int, default=100_000)
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--name", default="bench")

    @transaction.atomic
    def handle(self, *args, items: int, events: int, name: str, **options) -> None:
        User = get_user_model()
        users = [User.objects.get_or_create(username=f"{name}-annotator-{n}")[0] for n in range(3)]
        dataset = Dataset.objects.create(name=f"{name}-{uuid.uuid4().hex[:8]}")
        job = LabelingJob.objects.create(name=name, dataset=dataset, created_by=users[0])
        JobMember.objects.bulk_create([JobMember(job=job, user=u, role=Role.MANAGER) for u in users])
        labels = LabelClass.objects.bulk_create(
            [
                LabelClass(job=job, name=label, color=f"#{n * 40:02x}8040", slot=n)
                for n, label in enumerate(LABELS)
            ]
        )
        Image.objects.bulk_create(
            (
                Image(
                    dataset=dataset,
                    file=f"bench/{n}.jpg",
                    name=f"img_{n:06d}.jpg",
                    path=f"part{n % 10}/img_{n:06d}.jpg",
                    width=1000,
                    height=800,
                    checksum=f"{n:064x}",
                )
                for n in range(items)
            ),
            batch_size=5000,
        )
        per_item = max(1, events // items)
        now = timezone.now()
        image_ids = list(Image.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True))
        rows, item_labels, created = [], [], []
        for n, image_id in enumerate(image_ids):
            labeled = n % 10 < 7
            shapes = per_item - 1 if labeled else per_item
            actor = users[n % 3].pk
            counts: dict[int, int] = {}
            for k in range(shapes):
                label = labels[(n + k) % len(labels)].pk
                counts[label] = counts.get(label, 0) + 1
            created.append(
                Item(
                    job=job,
                    image_id=image_id,
                    status=ItemStatus.LABELED if labeled else ItemStatus.UNLABELED,
                    # A labeled save goes to review (issue 24); the streams hold no review event.
                    review_status=ReviewStatus.TO_REVIEW if labeled else ReviewStatus.NONE,
                    shape_count=shapes,
                    label_class_ids=sorted(counts),
                    label_bits=label_bits(counts, {label.pk: label.slot for label in labels}),
                    labeled_by_id=actor if labeled else None,
                    labeled_at=now if labeled else None,
                    hard_example=n % 10 == 9,
                    last_seq=per_item + (1 if n % 10 == 9 else 0),
                    saved_seq=per_item if labeled else 0,
                    updated_at=now,
                )
            )
            item_labels.append(counts)
        Item.objects.bulk_create(created, batch_size=5000)
        item_ids = list(Item.objects.filter(job=job).order_by("image_id").values_list("id", flat=True))
        ItemLabel.objects.bulk_create(
            (
                ItemLabel(item_id=item_id, label_class_id=label, shape_count=count)
                for item_id, counts in zip(item_ids, item_labels, strict=True)
                for label, count in counts.items()
            ),
            batch_size=10_000,
        )
        for n, item_id in enumerate(item_ids):
            labeled = n % 10 < 7
            actor = users[n % 3].pk
            shapes = per_item - 1 if labeled else per_item
            domain = [
                PolygonAdded(
                    actor, str(uuid.UUID(int=item_id * 1000 + k)), labels[(n + k) % len(labels)].pk, square(k)
                )
                for k in range(shapes)
            ]
            if labeled:
                domain.append(Saved(actor))
            if n % 10 == 9:
                domain.append(HardExampleMarked(actor))
            rows += [
                row.model()
                for row in store.rows_for(
                    item_id, 1, domain, prev_hash=store.GENESIS_HASH, created_at=now, command_id=None
                )
            ]
            if len(rows) >= 20_000:
                StoredEvent.objects.bulk_create(rows, batch_size=5000)
                rows = []
        StoredEvent.objects.bulk_create(rows, batch_size=5000)
        job_tally_differences(job.pk, repair=True)
        self.stdout.write(str(job.pk))
