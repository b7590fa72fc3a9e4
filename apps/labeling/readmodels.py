"""Read models derived from an item's state: status, counts and labels, as lists and filters need them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from .domain import ItemState
from .models import Item, ItemLabel, ItemStatus


@dataclass(frozen=True, slots=True)
class ItemReadModel:
    columns: dict[str, object]
    label_counts: dict[int, int]


def label_counts(state: ItemState) -> dict[int, int]:
    return dict(Counter(s.label_class_id for s in state.shapes.values() if s.closed))


def read_model(state: ItemState, last_save: tuple[int, datetime] | None) -> ItemReadModel:
    """Every read-model column from the state; `last_save` is (actor, time) of the event at saved_seq."""
    counts = label_counts(state)
    columns = live_columns(state, counts)
    if last_save is None:
        columns.update(status=ItemStatus.UNLABELED, labeled_by_id=None, labeled_at=None)
    else:
        columns.update(save_columns(state, *last_save))
    return ItemReadModel(columns, counts)


def live_columns(state: ItemState, counts: dict[int, int]) -> dict[str, object]:
    """The columns that follow the current state, after every command."""
    return {
        "shape_count": sum(counts.values()),
        "label_class_ids": sorted(counts),
        "hard_example": state.hard_example,
        "last_seq": state.seq,
        "saved_seq": state.saved_seq,
    }


def save_columns(state: ItemState, actor_id: int, at: datetime) -> dict[str, object]:
    """The columns a save sets: Labeled when the save holds a shape, Unlabeled when it holds none."""
    labeled = bool(state.saved)
    return {
        "status": ItemStatus.LABELED if labeled else ItemStatus.UNLABELED,
        "labeled_by_id": actor_id if labeled else None,
        "labeled_at": at if labeled else None,
    }


def item_label_rows_sync(item_id: int, old: dict[int, int], new: dict[int, int]) -> None:
    """Bring ItemLabel rows from `old` counts to `new` counts with as few statements as it takes."""
    if old == new:
        return
    gone = [label for label in old if label not in new]
    if gone:
        ItemLabel.objects.filter(item_id=item_id, label_class_id__in=gone).delete()
    for label, count in new.items():
        if label not in old:
            ItemLabel.objects.create(item_id=item_id, label_class_id=label, shape_count=count)
        elif old[label] != count:
            ItemLabel.objects.filter(item_id=item_id, label_class_id=label).update(shape_count=count)


def item_columns_write(item: Item, model: ItemReadModel, updated_at: datetime | None) -> None:
    columns = dict(model.columns)
    if updated_at is not None:
        columns["updated_at"] = updated_at
    Item.objects.filter(pk=item.pk).update(**columns)
    for name, value in columns.items():
        setattr(item, name, value)
