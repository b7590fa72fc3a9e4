"""YOLO segmentation labels (Ultralytics): one text line per polygon, and the dataset's data.yaml.

YOLO-seg has no way to join polygons into one object, so a multi-part object becomes one line per part,
each with the object's class; the grouping is lost (docs/formats.md). It has no void region either: void
regions (IGNORE_LABEL) are left out, and their class is not one of the dataset's.

The layout resolves the way Ultralytics resolves it (`ultralytics/data/utils.py` `check_det_dataset`,
`img2label_paths`, and `data/base.py` `get_img_files`), from whatever folder the training is started in.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence

from .model import IGNORE_LABEL, Category, ImageRecord


def yolo_categories(categories: Sequence[Category]) -> list[Category]:
    """The categories that are YOLO classes: all but the void one, in order."""
    return [category for category in categories if category.name != IGNORE_LABEL]


def yolo_class_index(categories: Sequence[Category]) -> dict[int, int]:
    """Category id -> class index 0, 1, ... in `categories`' order (the order of `yolo_data_yaml`); the
    void category has none."""
    return {category.id: number for number, category in enumerate(yolo_categories(categories))}


def _coordinate(value: float, size: int) -> str:
    """`value / size` in [0, 1] with at most 6 decimals, trailing zeros trimmed ('0.5', '1', '0').

    6 decimals keep a vertex within half a millionth of the image size, well under a pixel for any image
    below 2,000,000 pixels across. Values are clamped to [0, 1] (a vertex on the edge stays on it).
    """
    text = f"{min(max(value / size, 0.0), 1.0):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def yolo_lines(image: ImageRecord, class_index: Mapping[int, int], void_ids: Collection[int] = ()) -> str:
    """The label file of one image: `<class> x1 y1 x2 y2 ...` per part, coordinates normalised.

    Classes are 0-based (`class_index[category_id]`); objects of a category in `void_ids` are left out.
    An image without objects gives '' (an empty label file, which Ultralytics reads as "background only").
    """
    lines = []
    for obj in image.objects:
        if obj.category_id in void_ids:
            continue
        class_number = class_index[obj.category_id]
        for ring in obj.parts:
            values = " ".join(
                f"{_coordinate(x, image.width)} {_coordinate(y, image.height)}" for x, y in ring
            )
            lines.append(f"{class_number} {values}\n")
    return "".join(lines)


def yolo_image_path(file_name: str) -> str:
    """Where an image goes in the export: `images/<its path in the dataset>`."""
    return f"images/{file_name}"


def yolo_label_path(image_path: str) -> str:
    """The label file Ultralytics reads for the image at `image_path` (relative to the export's root).

    Ultralytics (`img2label_paths`) replaces the LAST '/images/' folder of the image's path by '/labels/'
    and the extension by '.txt'. So an image at `images/site/images/a.jpg` has its labels at
    `images/site/labels/a.txt`, not at `labels/site/images/a.txt`.
    """
    folder, name = posixpath.split(image_path)
    parts = folder.split("/")
    last = max(index for index, part in enumerate(parts) if part == "images")
    parts[last] = "labels"
    return posixpath.join(*parts, posixpath.splitext(name)[0] + ".txt")


def yolo_image_list(image_paths: Iterable[str]) -> str:
    """train.txt: one image a line, each as `./<path>`. Ultralytics resolves a line that starts with './'
    against the list's own folder, and any other relative line against the current directory."""
    return "".join(f"./{path}\n" for path in image_paths)


def yolo_data_yaml(categories: Sequence[Category]) -> str:
    """An Ultralytics data.yaml for an export whose images sit in `images/` (labels beside them).

    No `path:` key: without it Ultralytics takes the yaml's own folder as the dataset root, so
    `yolo train data=/x/export/data.yaml` finds `/x/export/images` from any directory. A relative `path:`
    (like `.`) would be resolved against the current directory instead. Names are written as JSON strings,
    which are valid YAML double-quoted scalars: a name like 'yes', 'null', '3' or 'a: b' stays a string.
    """
    names = "".join(
        f"  {number}: {json.dumps(category.name, ensure_ascii=False)}\n"
        for number, category in enumerate(yolo_categories(categories))
    )
    return f"train: images\nval: images\nnames:\n{names}"
