"""Read models derived from an item's state: status, counts and labels, as lists and filters need them."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count

from .domain import ItemState
from .domain.state import REVIEW_NONE, open_issue_count
from .models import Item, ItemLabel, ItemStatus, JobTally, ReviewStatus


@dataclass(frozen=True, slots=True)
class ItemReadModel:
    columns: dict[str, object]
    label_counts: dict[int, int]


def label_counts(state: ItemState) -> dict[int, int]:
    return dict(Counter(s.label_class_id for s in state.shapes.values() if s.closed))


# An item's attribute rows (ItemAttribute): (label class id, attribute name, value key) -> shapes.
AttributeCounts = dict[tuple[int, str, str], int]
_LONGEST_KEY = 200  # ItemAttribute.value's length


def attribute_value_key(value: object) -> str:
    """How ItemAttribute stores a value, and how the attribute filter looks it up: its JSON (a number as
    the float the domain keeps), or for a text too long for an index, a digest of that JSON."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = float(value) + 0.0
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= _LONGEST_KEY:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def attribute_counts(state: ItemState) -> AttributeCounts:
    """The item's closed shapes per (label class, attribute, value) someone set; shapes without a value
    for an attribute read its default and are not counted here."""
    # Counted by the values themselves and keyed once per distinct one (json.dumps per shape cost 1 ms per
    # command on an image of 500 shapes with values); `is bool` keeps True apart from 1.0, which it equals.
    raw: Counter[tuple[int, str, bool, object]] = Counter()
    for shape in state.shapes.values():
        if shape.attributes and shape.closed:
            label = shape.label_class_id
            for name, value in shape.attributes:
                raw[(label, name, value is True or value is False, value)] += 1
    counts: dict[tuple[int, str, str], int] = {}
    for (label, name, _, value), n in raw.items():
        key = (label, name, attribute_value_key(value))
        counts[key] = counts.get(key, 0) + n  # 5 and 5.0 are one value
    return counts


def _valued(shape: object) -> object:
    """What of a shape its attribute rows count: its label and values when closed and it has any."""
    if shape is None or not shape.closed or not shape.attributes:  # type: ignore[attr-defined]
        return None
    return (shape.label_class_id, shape.attributes)  # type: ignore[attr-defined]


def attribute_counts_change(before: ItemState, after: ItemState) -> tuple[AttributeCounts, AttributeCounts]:
    """The item's attribute rows before and after a command, or ({}, {}) when they cannot differ: no shape
    has values, or no shape the command touched had or got any (states share the Shape objects a command
    left alone, so identity finds those it touched). Counting every value costs ~0.4 ms on an image of 500
    shapes with two values each: only the commands that change values, or a valued shape's label or
    existence, pay it."""
    if before.shapes is after.shapes:
        return {}, {}
    old, new = before.shapes, after.shapes
    # The common case, an image where nobody set a value: two plain passes.
    if not any(shape.attributes for shape in old.values()) and not any(s.attributes for s in new.values()):
        return {}, {}
    touched = False
    for shape_id, shape in new.items():
        was = old.get(shape_id)
        if was is not shape and _valued(was) != _valued(shape):
            touched = True
            break
    if not touched:
        touched = any(shape_id not in new and _valued(shape) for shape_id, shape in old.items())
    if not touched:
        return {}, {}
    return attribute_counts(before), attribute_counts(after)


def label_bits(labels: Iterable[int], slots: Mapping[int, int | None]) -> int:
    """The Item.label_bits of an item holding `labels`, given the job's label slots."""
    bits = 0
    for label in labels:
        slot = slots.get(label)
        if slot is not None:
            bits |= 1 << slot
    return bits


def read_model(
    state: ItemState, last_save: tuple[int, datetime] | None, slots: Mapping[int, int | None]
) -> ItemReadModel:
    """Every read-model column from the state; `last_save` is (actor, time) of the event at saved_seq."""
    counts = label_counts(state)
    columns = live_columns(state, counts, slots)
    if last_save is None:
        columns.update(status=ItemStatus.UNLABELED, labeled_by_id=None, labeled_at=None)
    else:
        columns.update(save_columns(state, *last_save))
    return ItemReadModel(columns, counts)


def live_columns(
    state: ItemState, counts: dict[int, int], slots: Mapping[int, int | None]
) -> dict[str, object]:
    """The columns that follow the current state, after every command."""
    return {
        "shape_count": sum(counts.values()),
        "label_class_ids": sorted(counts),
        "label_bits": label_bits(counts, slots),
        "hard_example": state.hard_example,
        "last_seq": state.seq,
        "saved_seq": state.saved_seq,
        # Issue 24: the review tabs and filter, and the open issues that hold an acceptance back.
        "review_status": state.review.status,
        "open_issues": open_issue_count(state),
    }


def save_columns(state: ItemState, actor_id: int, at: datetime) -> dict[str, object]:
    """The columns a save sets: Labeled when the save holds a shape, Unlabeled when it holds none."""
    labeled = bool(state.saved)
    return {
        "status": ItemStatus.LABELED if labeled else ItemStatus.UNLABELED,
        "labeled_by_id": actor_id if labeled else None,
        "labeled_at": at if labeled else None,
    }


def item_columns_write(item: Item, model: ItemReadModel, updated_at: datetime | None) -> None:
    columns = dict(model.columns)
    if updated_at is not None:
        columns["updated_at"] = updated_at
    Item.objects.filter(pk=item.pk).update(**columns)
    for name, value in columns.items():
        setattr(item, name, value)


# Job tallies: the counts of the list's tabs and labels (see JobTally) -------------------------------

ITEMS, LABELED, HARD = "items", "labeled", "hard"


def label_key(label_class_id: int) -> str:
    return f"label:{label_class_id}"


def labeler_key(user_id: int) -> str:
    return f"labeled_by:{user_id}"


def review_key(review_status: str) -> str:
    return f"review:{review_status}"


# The review statuses the job's tallies count ("none" is the rest: the items less these).
REVIEW_COUNTED = (ReviewStatus.TO_REVIEW, ReviewStatus.ACCEPTED, ReviewStatus.REJECTED)


def item_tally_keys(
    *,
    status: str,
    hard_example: bool,
    labeled_by_id: int | None,
    labels: Iterable[int],
    review_status: str = REVIEW_NONE,
) -> set[str]:
    """The tallies one (not deleted) item counts in: one key per filter of the items list whose count
    the list takes from the tallies instead of COUNT(*) (selectors.item_list_count)."""
    keys = {ITEMS, *(label_key(label) for label in labels)}
    if review_status != REVIEW_NONE:
        keys.add(review_key(review_status))
    if status == ItemStatus.LABELED:
        keys.add(LABELED)
    if hard_example:
        keys.add(HARD)
    if labeled_by_id is not None:
        keys.add(labeler_key(labeled_by_id))
    return keys


def tally_deltas(before: set[str], after: set[str]) -> dict[str, int]:
    """How one item's change from counting in `before` to counting in `after` moves its job's tallies."""
    return {**dict.fromkeys(after - before, 1), **dict.fromkeys(before - after, -1)}


def job_tally_read(job_id: int) -> dict[str, int]:
    """Plain SQL: job sockets are sent the counts after every command that changes them."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, count FROM {JobTally._meta.db_table} WHERE job_id = %s", [job_id])
        return dict(cursor.fetchall())


def job_tally_count(job_id: int) -> dict[str, int]:
    """The tallies counted from the items themselves (slow on a big job: for rebuilds and checks)."""
    items = Item.objects.filter(job_id=job_id, deleted_at__isnull=True).order_by()
    by_status = dict(items.values_list("status").annotate(n=Count("id")))
    tally = {ITEMS: sum(by_status.values()), LABELED: by_status.get(ItemStatus.LABELED, 0)}
    tally[HARD] = items.filter(hard_example=True).count()
    by_review = items.exclude(review_status=REVIEW_NONE).values_list("review_status").annotate(n=Count("id"))
    tally.update((review_key(review), n) for review, n in by_review)
    by_labeler = items.filter(labeled_by__isnull=False).values_list("labeled_by").annotate(n=Count("id"))
    tally.update((labeler_key(user_id), n) for user_id, n in by_labeler)
    labels = (
        ItemLabel.objects.filter(item__job_id=job_id, item__deleted_at__isnull=True)
        .order_by()
        .values_list("label_class_id")
        .annotate(n=Count("item"))
    )
    tally.update((label_key(label), n) for label, n in labels)
    return tally


def job_tally_differences(
    job_id: int, *, repair: bool, expected: Mapping[str, int] | None = None
) -> list[str]:
    """Compare the stored tallies with `expected` (by default a recount of the items); with `repair`,
    store what was expected."""
    stored = {k: n for k, n in job_tally_read(job_id).items() if n}
    wanted = {k: n for k, n in (job_tally_count(job_id) if expected is None else expected).items() if n}
    differences = [
        f"job {job_id}: tally {key} is {stored.get(key, 0)}, the log says {wanted.get(key, 0)}"
        for key in sorted(set(stored) | set(wanted))
        if stored.get(key, 0) != wanted.get(key, 0)
    ]
    if repair and differences:
        JobTally.objects.filter(job_id=job_id).delete()
        JobTally.objects.bulk_create(JobTally(job_id=job_id, key=k, count=n) for k, n in wanted.items())
    return differences
