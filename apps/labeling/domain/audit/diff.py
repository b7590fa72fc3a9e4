"""The difference between two states' closed shapes, for the auditor's "what changed between two points".

Pure like the rest of the domain; drafts are not compared (docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..state import ItemState, Point, Shape

# Two offsets closer than this (in pixels) count as the same move: a shape moved by (dx, dy) has
# vertices whose float differences from the old ones disagree in the last bits.
OFFSET_TOLERANCE = 1e-6
DIFF_FIELDS = ("points", "label_class_id", "group_id", "attributes")


def shape_audit_view(shape: Shape) -> dict[str, Any]:
    """A closed shape as the state view shows it, plus who drew it."""
    view: dict[str, Any] = {
        "id": shape.id,
        "number": shape.number,
        "label_class_id": shape.label_class_id,
        "points": [[x, y] for x, y in shape.points],
    }
    if shape.group_id is not None:
        view["group_id"] = shape.group_id
    if shape.attributes:
        view["attributes"] = dict(shape.attributes)
    view["actor"] = shape.actor
    return view


def common_offset(before: Sequence[Point], after: Sequence[Point]) -> list[float] | None:
    """[dx, dy] when every vertex moved by the same offset (within OFFSET_TOLERANCE), else None."""
    if len(before) != len(after) or not before:
        return None
    dx, dy = after[0][0] - before[0][0], after[0][1] - before[0][1]
    for (x0, y0), (x1, y1) in zip(before, after, strict=True):
        if abs((x1 - x0) - dx) > OFFSET_TOLERANCE or abs((y1 - y0) - dy) > OFFSET_TOLERANCE:
            return None
    return [round(dx, 6) + 0.0, round(dy, 6) + 0.0]  # + 0.0 writes -0.0 as 0.0


def _changed(old: Shape, new: Shape) -> dict[str, Any] | None:
    changes = [name for name in DIFF_FIELDS if getattr(old, name) != getattr(new, name)]
    if not changes:
        return None
    entry: dict[str, Any] = {
        "id": new.id,
        "before": shape_audit_view(old),
        "after": shape_audit_view(new),
        "changes": changes,
    }
    if "points" in changes and len(old.points) == len(new.points):
        entry["moved_vertices"] = [
            index for index, (p, q) in enumerate(zip(old.points, new.points, strict=True)) if p != q
        ]
        offset = common_offset(old.points, new.points)
        if offset is not None:
            entry["moved_by"] = offset
    return entry


def state_diff(before: ItemState, after: ItemState) -> dict[str, list[dict[str, Any]]]:
    """What changed in the closed shapes from `before` to `after` (drafts are not compared).

    A shape under the same id but drawn by someone else (a freed id reused) is another shape: removed
    and added, not changed. Drawing order and reset points are not compared.
    """
    old = {s.id: s for s in before.closed_shapes()}
    new = {s.id: s for s in after.closed_shapes()}

    def same_shape(a: Shape | None, b: Shape | None) -> bool:
        return a is not None and b is not None and a.actor == b.actor

    added = [shape_audit_view(s) for sid, s in new.items() if not same_shape(old.get(sid), s)]
    removed = [shape_audit_view(s) for sid, s in old.items() if not same_shape(s, new.get(sid))]
    changed = []
    for sid, shape in new.items():
        previous = old.get(sid)
        if previous is not None and same_shape(previous, shape):
            entry = _changed(previous, shape)
            if entry is not None:
                changed.append(entry)
    return {"added": added, "removed": removed, "changed": changed}
