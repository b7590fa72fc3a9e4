"""Rebuild every projection (snapshots and read models) from the event log, and report differences."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from . import store
from .domain import evolve, initial_state, state_from_dict, state_to_dict
from .models import Item, ItemLabel, LabelingJob, Snapshot, StoredEvent
from .readmodels import item_columns_write, item_tally_keys, job_tally_differences, label_counts, read_model


@dataclass
class Report:
    items: int = 0
    events: int = 0
    differences: list[str] = field(default_factory=list)
    # Per job, the tallies the log implies (see JobTally).
    tallies: dict[int, Counter[str]] = field(default_factory=dict)


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
    if item.deleted_at is None:
        tally = report.tallies.setdefault(item.job_id, Counter())
        tally.update(
            item_tally_keys(
                status=model.columns["status"],
                hard_example=model.columns["hard_example"],
                labeled_by_id=model.columns["labeled_by_id"],
                labels=model.label_counts,
            )
        )
    if repair:
        item_columns_write(item, model, None)
        store.item_label_rows_sync(item.pk, stored_counts, model.label_counts)


def projections_rebuild(*, repair: bool = True, item_ids: list[int] | None = None) -> Report:
    report = Report()
    items = Item.objects.select_related("image").order_by("id")
    if item_ids:
        items = items.filter(pk__in=item_ids)
    for item in items.iterator(chunk_size=500):
        with transaction.atomic():
            locked = Item.objects.select_for_update().select_related("image").get(pk=item.pk)
            item_rebuild(locked, report, repair=repair)
        report.items += 1
    # The tallies: against what the log says when every item was replayed, else against a recount.
    jobs = (
        LabelingJob.objects.values_list("id", flat=True)
        if not item_ids
        else set(items.values_list("job_id", flat=True))
    )
    for job_id in sorted(jobs):
        expected = None if item_ids else report.tallies.get(job_id, {})
        with transaction.atomic():
            report.differences.extend(job_tally_differences(job_id, repair=repair, expected=expected))
    store.state_cache.clear()
    return report
