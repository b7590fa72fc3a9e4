"""YOLO segmentation labels (Ultralytics): one text line per polygon, and the dataset's data.yaml.

YOLO-seg has no way to join polygons into one object, so a multi-part object becomes one line per part,
each with the object's class; the grouping is lost (docs/formats.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from .model import Category, ImageRecord


def yolo_class_index(categories: Sequence[Category]) -> dict[int, int]:
    """Category id -> class index 0, 1, ... in `categories`' order (the order of `yolo_data_yaml`)."""
    return {category.id: number for number, category in enumerate(categories)}


def _coordinate(value: float, size: int) -> str:
    """`value / size` in [0, 1] with at most 6 decimals, trailing zeros trimmed ('0.5', '1', '0').

    6 decimals keep a vertex within half a millionth of the image size, well under a pixel for any image
    below 2,000,000 pixels across. Values are clamped to [0, 1] (a vertex on the edge stays on it).
    """
    text = f"{min(max(value / size, 0.0), 1.0):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def yolo_lines(image: ImageRecord, class_index: Mapping[int, int]) -> str:
    """The label file of one image: `<class> x1 y1 x2 y2 ...` per part, coordinates normalised.

    Classes are 0-based (`class_index[category_id]`). An image without objects gives '' (an empty label
    file, which Ultralytics reads as "background only").
    """
    lines = []
    for obj in image.objects:
        class_number = class_index[obj.category_id]
        for ring in obj.parts:
            values = " ".join(
                f"{_coordinate(x, image.width)} {_coordinate(y, image.height)}" for x, y in ring
            )
            lines.append(f"{class_number} {values}\n")
    return "".join(lines)


def yolo_data_yaml(categories: Sequence[Category]) -> str:
    """An Ultralytics data.yaml for an export whose images sit in `images/` beside their `labels/`.

    Names are written as JSON strings, which are valid YAML double-quoted scalars: a name like 'yes',
    'null', '3' or 'a: b' stays a string.
    """
    names = "".join(
        f"  {number}: {json.dumps(category.name, ensure_ascii=False)}\n"
        for number, category in enumerate(categories)
    )
    return f"path: .\ntrain: images\nval: images\nnames:\n{names}"
