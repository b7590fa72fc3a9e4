"""Read models derived from an item's state: status, counts and labels, as lists and filters need them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from .domain import ItemState
from .models import Item, ItemLabel, ItemStatus


@dataclass(frozen=True, slots=True)
class ItemReadModel:
    status: str
    shape_count: int
    label_class_ids: list[int]
    hard_example: bool
    last_seq: int
    saved_seq: int
    labeled_by_id: int | None
    labeled_at: datetime | None
    label_counts: dict[int, int]

    def columns(self) -> dict[str, object]:
        return {
            "status": self.status,
            "shape_count": self.shape_count,
            "label_class_ids": self.label_class_ids,
            "hard_example": self.hard_example,
            "last_seq": self.last_seq,
            "saved_seq": self.saved_seq,
            "labeled_by_id": self.labeled_by_id,
            "labeled_at": self.labeled_at,
        }


def label_counts(state: ItemState) -> dict[int, int]:
    return dict(Counter(s.label_class_id for s in state.shapes.values() if s.closed))


def read_model(state: ItemState, last_save: tuple[int, datetime] | None) -> ItemReadModel:
    """`last_save` is (actor, time) of the event at state.saved_seq, if any.

    An item is Labeled once a save holds at least one shape and Unlabeled when a save holds none; the
    labels, counts and hard-example flag follow the current state.
    """
    counts = label_counts(state)
    labeled = bool(state.saved) and last_save is not None
    return ItemReadModel(
        status=ItemStatus.LABELED if labeled else ItemStatus.UNLABELED,
        shape_count=sum(counts.values()),
        label_class_ids=sorted(counts),
        hard_example=state.hard_example,
        last_seq=state.seq,
        saved_seq=state.saved_seq,
        labeled_by_id=last_save[0] if labeled and last_save else None,
        labeled_at=last_save[1] if labeled and last_save else None,
        label_counts=counts,
    )


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
    columns = model.columns()
    if updated_at is not None:
        columns["updated_at"] = updated_at
    Item.objects.filter(pk=item.pk).update(**columns)
    for name, value in columns.items():
        setattr(item, name, value)
