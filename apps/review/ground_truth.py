"""Ground truth (docs/review.md "Ground truth"): a manager marks accepted images as ground truth, offers an
annotator a copy of one as an ordinary item of the job, and the report compares what the annotator saved on
the copy with the truth: per-object IoU (shapely), missed and extra objects, label confusions.

A copy is its own item over a twin Image row of the same stored file, kept in a dataset of the job's own
("<job>: ground-truth copies") that no job syncs from: a job holds one item per image, and the dataset's
own images, listings and syncs never see the twin. Its image carries the original's name, so the
annotator's list shows it like any other image; it is assigned to them, so "Start labeling" hands it out.

Objects are matched by geometry alone, greedily by best IoU: every pair of a truth object and one of the
annotator's with IoU > 0 is taken from the highest IoU down, each object at most once, and a pair counts as
a match from MATCH_IOU (0.5) on; a matched pair with different labels is a label confusion. An object drawn
in pieces (shapes sharing a group_id) is the union of its pieces. Greedy gives the same pairs as the
Hungarian assignment whenever each object overlaps at most one object of the other side by more than 0.5
(IoU > 0.5 is one-to-one), which is the case that decides what counts as a match.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from shapely.geometry import Polygon
from shapely.ops import unary_union
from shapely.validation import make_valid

from apps.common.errors import ApiError
from apps.datasets.models import Dataset, Image
from apps.labeling import store
from apps.labeling.domain import ItemState
from apps.labeling.models import Item, LabelClass, LabelingJob
from apps.labeling.readmodels import ITEMS, job_tally_read
from apps.labeling.signals import job_items_added

from .quality_models import GroundTruth, GroundTruthCopy

MATCH_IOU = 0.5
ACCEPTED = "accepted"


# Marking and copying ---------------------------------------------------------------------------------------


@transaction.atomic
def truth_mark(*, job: LabelingJob, item_ids: list[int], actor: Any) -> list[GroundTruth]:
    """Mark the job's accepted images as ground truth, at their accepted save; all or none: an item that
    is not the job's, not accepted, or a copy itself refuses the whole request (400)."""
    items = {item.pk: item for item in Item.objects.filter(job=job, pk__in=item_ids, deleted_at__isnull=True)}
    missing = [item_id for item_id in item_ids if item_id not in items]
    if missing:
        raise ApiError(400, "invalid_request", f"Item {missing[0]} is not an image of this job.")
    copies = set(GroundTruthCopy.objects.filter(item_id__in=item_ids).values_list("item_id", flat=True))
    if copies:
        raise ApiError(400, "is_copy", f"Item {min(copies)} is a ground-truth copy; mark the original.")
    for item in items.values():
        if item.review_status != ACCEPTED:
            raise ApiError(
                400, "not_accepted", f"Item {item.pk} is not accepted; only accepted images are ground truth."
            )
    marked = []
    for item in items.values():
        truth, _ = GroundTruth.objects.update_or_create(
            item=item, defaults={"job": job, "seq": item.saved_seq, "marked_by": actor}
        )
        marked.append(truth)
    return marked


def _copies_dataset(job: LabelingJob) -> Dataset:
    name = f"{job.name[:150]}: ground-truth copies ({job.pk})"
    dataset, _ = Dataset.objects.get_or_create(name=name)
    return dataset


@transaction.atomic
def copy_offer(*, job: LabelingJob, truth_item_id: int, annotator: Any, by: Any) -> Item:
    """A new item of the job over a twin of the ground-truth image, assigned to `annotator` (a member who
    labels) by `by`, recorded as any assignment is: it is offered in their queue like any other image."""
    from .assignments import assign  # review-work's module

    # The job's row before its tallies, as job_sync takes them (assign locks the row again): the other
    # order deadlocks with a sync; and two offers of one truth take turns, so each copy gets its number.
    LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
    truth = GroundTruth.objects.filter(job=job, item_id=truth_item_id).select_related("item__image").first()
    if truth is None:
        raise ApiError(400, "not_ground_truth", f"Item {truth_item_id} is not ground truth in this job.")
    original = truth.item.image
    dataset = _copies_dataset(job)
    number = GroundTruthCopy.objects.filter(truth=truth).count() + 1
    twin = Image.objects.create(
        dataset=dataset,
        file=original.file.name,
        thumbnail=original.thumbnail.name if original.thumbnail else "",
        name=original.name,
        path=f"{truth.item_id}/{number}/{original.path}"[:1024],
        width=original.width,
        height=original.height,
        checksum=original.checksum,
    )
    item = Item.objects.create(job=job, image=twin)
    store.job_tally_add(job.pk, {ITEMS: 1})
    GroundTruthCopy.objects.create(item=item, truth=truth, image=twin, annotator=annotator)
    assign(job=job, by=by, items=[item.pk], annotator=annotator.pk)
    transaction.on_commit(
        lambda: job_items_added.send(
            sender=LabelingJob, job_id=job.pk, added=1, total=job_tally_read(job.pk).get(ITEMS, 0)
        ),
        robust=True,
    )
    return item


# Comparing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    ious: list[float]  # of the matched objects
    missed: int
    extra: int
    confusions: Counter[tuple[int, int]]  # (truth label, their label) -> matched objects
    truth_objects: int


def objects_of(shapes: list[Any]) -> list[tuple[int, Any]]:
    """(label class id, geometry) per object: a shape, or the union of the pieces sharing a group_id."""
    groups: dict[str, list[Any]] = defaultdict(list)
    out = []
    for shape in shapes:
        if not shape.closed or len(shape.points) < 3:
            continue
        geometry = make_valid(Polygon(shape.points))
        if shape.group_id is None:
            out.append((shape.label_class_id, geometry))
        else:
            groups[shape.group_id].append((shape.label_class_id, geometry))
    for pieces in groups.values():
        out.append((pieces[0][0], unary_union([g for _, g in pieces])))
    return out


def iou(a: Any, b: Any) -> float:
    union = a.union(b).area
    return a.intersection(b).area / union if union else 0.0


def compare(truth: list[tuple[int, Any]], theirs: list[tuple[int, Any]]) -> Compared:
    """Greedy best-IoU matching (see the module's docstring)."""
    pairs = []
    for i, (_, a) in enumerate(truth):
        for j, (_, b) in enumerate(theirs):
            if a.intersects(b):
                value = iou(a, b)
                if value > 0:
                    pairs.append((value, i, j))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_truth, used_theirs, ious = set(), set(), []
    confusions: Counter[tuple[int, int]] = Counter()
    for value, i, j in pairs:
        if value < MATCH_IOU:
            break
        if i in used_truth or j in used_theirs:
            continue
        used_truth.add(i)
        used_theirs.add(j)
        ious.append(value)
        if truth[i][0] != theirs[j][0]:
            confusions[(truth[i][0], theirs[j][0])] += 1
    return Compared(
        ious=ious,
        missed=len(truth) - len(used_truth),
        extra=len(theirs) - len(used_theirs),
        confusions=confusions,
        truth_objects=len(truth),
    )


def _saved_shapes(item: Item, seq: int | None = None) -> list[Any]:
    state: ItemState = store.state_load(item.pk, item.image.width, item.image.height, seq)
    return list(state.saved.values()) if seq is None else [s for s in state.shapes.values() if s.closed]


def truth_report(job_id: int) -> dict[str, Any]:
    """Per annotator (whoever saved the copy with shapes last: its labeler), the comparison of their saved
    copies with the truth; copies not yet saved with shapes are listed as pending."""
    truths = list(GroundTruth.objects.filter(job_id=job_id).select_related("item__image").order_by("item_id"))
    copies = list(
        GroundTruthCopy.objects.filter(truth__job_id=job_id)
        .select_related("item__image", "truth__item__image")
        .order_by("item_id")
    )
    labels = dict(LabelClass.objects.filter(job_id=job_id).values_list("pk", "name"))
    truth_objects: dict[int, list[tuple[int, Any]]] = {}
    people: dict[int, dict[str, Any]] = {}
    pending = []
    for copy in copies:
        item = copy.item
        if item.labeled_by_id is None or item.deleted_at is not None:
            pending.append(
                {"item_id": item.pk, "truth_item_id": copy.truth.item_id, "annotator": copy.annotator_id}
            )
            continue
        truth = copy.truth
        if truth.item_id not in truth_objects:
            truth_objects[truth.item_id] = objects_of(_saved_shapes(truth.item, truth.seq))
        compared = compare(truth_objects[truth.item_id], objects_of(_saved_shapes(item)))
        entry = people.setdefault(
            item.labeled_by_id,
            {"ious": [], "missed": 0, "extra": 0, "truth_objects": 0, "confusions": Counter(), "images": []},
        )
        entry["ious"] += compared.ious
        entry["missed"] += compared.missed
        entry["extra"] += compared.extra
        entry["truth_objects"] += compared.truth_objects
        entry["confusions"].update(compared.confusions)
        entry["images"].append(
            {
                "item_id": item.pk,
                "truth_item_id": truth.item_id,
                "seq": item.saved_seq,
                "matched": len(compared.ious),
                "mean_iou": _mean(compared.ious),
                "missed": compared.missed,
                "extra": compared.extra,
                "replay_url": f"/items/{item.pk}/replay/?seq={item.saved_seq}",
            }
        )
    names = dict(get_user_model().objects.filter(pk__in=list(people)).values_list("pk", "username"))
    return {
        "match_iou": MATCH_IOU,
        "truths": [
            {"item_id": t.item_id, "seq": t.seq, "image": t.item.image.name, "marked_by": t.marked_by_id}
            for t in truths
        ],
        "pending": pending,
        "annotators": [
            {
                "id": person,
                "username": names.get(person, f"user {person}"),
                "images": entry["images"],
                "truth_objects": entry["truth_objects"],
                "matched": len(entry["ious"]),
                "mean_iou": _mean(entry["ious"]),
                "missed": entry["missed"],
                "extra": entry["extra"],
                "confusions": [
                    {
                        "truth_label_id": a,
                        "truth_label": labels.get(a, ""),
                        "their_label_id": b,
                        "their_label": labels.get(b, ""),
                        "objects": n,
                    }
                    for (a, b), n in sorted(entry["confusions"].items())
                ],
            }
            for person, entry in sorted(people.items(), key=lambda p: names.get(p[0], ""))
        ],
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
