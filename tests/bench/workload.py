"""A realistic labeling session as a stream of commands, shared by the benchmarks."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator

from apps.labeling.domain import commands as c


def session(width: float, height: float, label_class_ids: list[int], *, seed: int = 1) -> Iterator[c.Command]:
    """Draw 8-vertex polygons vertex by vertex, close them, move some, undo/redo; save and clear every
    6 polygons so the image keeps a realistic number of shapes. Endless."""
    n = 0
    rng = uuid.UUID(int=seed)
    while True:
        shape_ids = []
        for k in range(6):
            n += 1
            shape_id = str(uuid.uuid5(rng, str(n)))
            shape_ids.append(shape_id)
            cx = width * (0.15 + 0.14 * k)
            cy = height * (0.3 + 0.4 * (n % 2))
            r = min(width, height) * 0.06
            for v in range(8):
                angle = 2 * math.pi * v / 8
                yield c.AddVertex(shape_id, cx + r * math.cos(angle), cy + r * math.sin(angle))
            yield c.ClosePolygon(shape_id, label_class_ids[n % len(label_class_ids)])
            yield c.MoveShape(shape_id, 1.5, -1.0)
            yield c.Undo()
            yield c.Redo()
        yield c.Save()
        yield c.DeleteAllShapes()
        yield c.Save()
