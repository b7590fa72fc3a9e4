"""Rebuild every projection (snapshots and read models) from the event log, and report differences."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from . import store
from .domain import evolve, initial_state, state_from_dict, state_to_dict
from .models import Item, ItemAttribute, ItemLabel, LabelingJob, Snapshot, StoredEvent
from .readmodels import (
    attribute_counts,
    item_columns_write,
    item_tally_keys,
    job_tally_differences,
    label_counts,
    read_model,
)

# Lines of differences a report keeps when it is stored (a task run's checkpoint): a systematic drift over a
# million items would otherwise rewrite megabytes at every checkpoint. The count stays exact.
STORED_DIFFERENCES = 1000


@dataclass
class Report:
    items: int = 0
    events: int = 0
    differences: list[str] = field(default_factory=list)
    # Differences counted but whose lines were not kept (a report read back from storage).
    more_differences: int = 0
    # Per job, the tallies the log implies (see JobTally).
    tallies: dict[int, Counter[str]] = field(default_factory=dict)
    # The last item replayed, in id order: where a resumed rebuild goes on from.
    last_item_id: int = 0

    @property
    def difference_count(self) -> int:
        return len(self.differences) + self.more_differences

    def stored(self) -> dict[str, Any]:
        """The report as JSON, without the tallies (a resumed rebuild recounts them)."""
        return {
            "last_item_id": self.last_item_id,
            "items": self.items,
            "events": self.events,
            "differences": self.differences[:STORED_DIFFERENCES],
            "difference_count": self.difference_count,
        }

    @classmethod
    def from_stored(cls, raw: dict[str, Any]) -> Report:
        lines = list(raw.get("differences", []))
        return cls(
            items=raw.get("items", 0),
            events=raw.get("events", 0),
            differences=lines,
            more_differences=raw.get("difference_count", len(lines)) - len(lines),
            last_item_id=raw.get("last_item_id", 0),
        )


def item_rebuild(item: Item, report: Report, *, repair: bool) -> None:
    every = store.snapshot_every()
    snapshots = {s.seq: s for s in Snapshot.objects.filter(item=item)}
    state = initial_state(item.image.width, item.image.height)
    saves: dict[int, tuple[int, object]] = {}
    for row in StoredEvent.objects.filter(item=item).order_by("seq").iterator(chunk_size=2000):
        state = evolve(state, store.row_event(row))
        report.events += 1
        if row.type == "saved":
            saves[row.seq] = (row.actor_id, row.created_at)
        snapshot = snapshots.pop(state.seq, None)
        expected = state_to_dict(state)
        if snapshot is not None and state_from_dict(snapshot.state) != state:
            report.differences.append(f"item {item.pk}: snapshot at seq {state.seq} differs from the replay")
            if repair:
                Snapshot.objects.filter(pk=snapshot.pk).update(state=expected)
        elif snapshot is None and state.seq % every == 0:
            report.differences.append(f"item {item.pk}: snapshot at seq {state.seq} is missing")
            if repair:
                Snapshot.objects.create(item=item, seq=state.seq, state=expected)
    for seq in snapshots:
        report.differences.append(f"item {item.pk}: snapshot at seq {seq} is past the stream's end")
        if repair:
            Snapshot.objects.filter(item=item, seq=seq).delete()

    model = read_model(state, saves.get(state.saved_seq), store.label_slots(item.job_id, label_counts(state)))
    for name, value in model.columns.items():
        stored = getattr(item, name)
        if stored != value:
            report.differences.append(f"item {item.pk}: {name} is {stored!r}, the log says {value!r}")
    stored_counts = dict(ItemLabel.objects.filter(item=item).values_list("label_class_id", "shape_count"))
    if stored_counts != model.label_counts:
        report.differences.append(
            f"item {item.pk}: label counts are {stored_counts}, the log says {model.label_counts}"
        )
    attributes = attribute_counts(state)
    stored_attributes = {
        (label, name, value): n
        for label, name, value, n in ItemAttribute.objects.filter(item=item).values_list(
            "label_class_id", "name", "value", "shape_count"
        )
    }
    if stored_attributes != attributes:
        report.differences.append(
            f"item {item.pk}: attribute counts are {stored_attributes}, the log says {attributes}"
        )
    if item.deleted_at is None:
        tally = report.tallies.setdefault(item.job_id, Counter())
        tally.update(
            item_tally_keys(
                status=model.columns["status"],
                hard_example=model.columns["hard_example"],
                labeled_by_id=model.columns["labeled_by_id"],
                labels=model.label_counts,
                review_status=model.columns["review_status"],
            )
        )
    if repair:
        item_columns_write(item, model, None)
        store.item_label_rows_sync(item.pk, stored_counts, model.label_counts)
        store.item_attribute_rows_sync(item.pk, stored_attributes, attributes)


def projections_items(item_ids: list[int] | None = None) -> QuerySet[Item]:
    """The items a rebuild replays, in the order it replays them (by id, so it can resume after one)."""
    items = Item.objects.select_related("image").order_by("id")
    return items.filter(pk__in=item_ids) if item_ids else items


def projections_rebuild(
    *,
    repair: bool = True,
    item_ids: list[int] | None = None,
    resume: Report | None = None,
    on_item: Callable[[Report, bool], None] | None = None,
) -> Report:
    """Replay the items (all, or `item_ids`) and then the jobs' tallies; with `repair`, write what the log
    says wherever a projection differs. Each item is replayed and repaired in a transaction of its own,
    which `on_item(report, differed)` is called inside, so a caller's progress commits with the item's
    repair. `resume` is the report of an earlier attempt cut off midway: the items after its last one are
    replayed, and the tallies, which that attempt's items counted in memory, are recounted instead."""
    report = resume or Report()
    items = projections_items(item_ids)
    for item in items.filter(pk__gt=report.last_item_id).iterator(chunk_size=500):
        before = report.difference_count
        with transaction.atomic():
            locked = Item.objects.select_for_update().select_related("image").get(pk=item.pk)
            item_rebuild(locked, report, repair=repair)
            report.items += 1
            report.last_item_id = item.pk
            if on_item is not None:
                on_item(report, report.difference_count > before)
    # The tallies: against what the log says when every item was replayed here, else against a recount.
    replayed_all = not item_ids and resume is None
    jobs = (
        LabelingJob.objects.values_list("id", flat=True)
        if not item_ids
        else set(items.values_list("job_id", flat=True))
    )
    for job_id in sorted(jobs):
        expected = report.tallies.get(job_id, {}) if replayed_all else None
        with transaction.atomic():
            report.differences.extend(job_tally_differences(job_id, repair=repair, expected=expected))
    store.state_cache.clear()
    return report
