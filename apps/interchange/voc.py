"""PASCAL VOC segmentation masks: the class and object PNGs of one image, the palette, the class list.

Void regions (IGNORE_LABEL) are painted 255 in both PNGs, as in VOC 2012's own masks. The class list is
`labelmap.txt` in CVAT's and Datumaro's form (`name:r,g,b:parts:actions`), so Datumaro reads the export.

Rasterisation keeps a pixel when its centre lies inside the polygon (even-odd rule, a centre exactly on a
left or top edge is in, on a right or bottom edge is out), the rule pycocotools follows; docs/formats.md
compares the two.
"""

from __future__ import annotations

import io
import math
import posixpath
from collections.abc import Mapping, Sequence

from PIL import Image

from .model import IGNORE_LABEL, Category, ImageRecord, Ring

BACKGROUND = "background"
# 0 is the background and 255 VOC's "void", so an 8-bit PNG holds classes and objects 1..254.
MAX_INDEX = 254
VOID = 255
# Datumaro's name for VOC's 255 (`VocLabel.ignored`); the labelmap's void line, when the job has void regions.
VOID_NAME = "ignored"


def voc_palette() -> list[int]:
    """The standard VOC colour map, 256 entries flattened to [r0, g0, b0, r1, ...] as Pillow takes it.

    Entry i spreads the bits of i over the three channels, high bit first (the devkit's `bitget` loop):
    1 is (128, 0, 0), 2 (0, 128, 0), 15 (192, 128, 128), 255 (224, 224, 192).
    """
    palette: list[int] = []
    for index in range(256):
        r = g = b = 0
        bits = index
        for shift in range(7, -1, -1):
            r |= (bits & 1) << shift
            g |= ((bits >> 1) & 1) << shift
            b |= ((bits >> 2) & 1) << shift
            bits >>= 3
        palette += [r, g, b]
    return palette


_PALETTE = voc_palette()


def voc_categories(categories: Sequence[Category]) -> list[Category]:
    """The categories that are VOC classes: all but the void one, in order."""
    return [category for category in categories if category.name != IGNORE_LABEL]


def _labelmap_name(name: str, taken: set[str]) -> str:
    """`name` as a labelmap line can hold it: Datumaro splits a line on every ':', strips it, and skips it
    when it starts with '#'. So ':' and line breaks become '_', surrounding spaces go, a leading '#' gets a
    '_' before it, and a name that becomes another's gets ' (2)', ' (3)', ... The class index, which is what
    the masks hold, does not change."""
    text = "".join("_" if c in ":\r\n" else c for c in name).strip()
    if text.startswith("#") or not text:
        text = f"_{text}"
    unique, number = text, 1
    while unique in taken:
        number += 1
        unique = f"{text} ({number})"
    taken.add(unique)
    return unique


def voc_class_list(categories: Sequence[Category]) -> str:
    """labelmap.txt: 'background' first, then each class in `categories`' order, one a line, as
    `name:r,g,b::` where r,g,b is the class index's colour in the VOC palette (Datumaro maps the masks'
    colours back to classes with it). When `categories` has the void one, a last line `ignored` with the
    colour of 255 declares the void pixels (Datumaro refuses a mask colour that no line declares)."""
    taken: set[str] = set()
    lines = []
    classes = voc_categories(categories)
    for index, name in enumerate([BACKGROUND, *(c.name for c in classes)]):
        r, g, b = _PALETTE[3 * index : 3 * index + 3]
        lines.append(f"{_labelmap_name(name, taken)}:{r},{g},{b}::\n")
    if len(classes) < len(categories):
        r, g, b = _PALETTE[3 * VOID : 3 * VOID + 3]
        lines.append(f"{_labelmap_name(VOID_NAME, taken)}:{r},{g},{b}::\n")
    return "".join(lines)


def voc_class_index(categories: Sequence[Category]) -> dict[int, int]:
    """Category id -> class index 1, 2, ... in `categories`' order (the order of `voc_class_list`), and
    255 for the void category."""
    index = {category.id: number for number, category in enumerate(voc_categories(categories), start=1)}
    index.update({category.id: VOID for category in categories if category.name == IGNORE_LABEL})
    return index


def ring_spans(ring: Ring, width: int, height: int) -> dict[int, list[tuple[int, int]]]:
    """The pixels whose centre lies inside `ring`: for each row, the column ranges [start, stop).

    Pixel (column c, row r) covers [c, c+1] x [r, r+1], so its centre is (c + 0.5, r + 0.5). Each edge
    crosses the rows whose centre height lies in [y_low, y_high) (half-open, so a vertex is counted once);
    the crossings of a row, sorted, pair up into spans (even-odd), and a span keeps the columns whose
    centre x lies in [x_left, x_right).
    """
    crossings: dict[int, list[float]] = {}
    count = len(ring)
    for i in range(count):
        x0, y0 = ring[i - 1]
        x1, y1 = ring[i]
        if y0 == y1:
            continue
        if y0 > y1:
            x0, y0, x1, y1 = x1, y1, x0, y0
        slope = (x1 - x0) / (y1 - y0)
        first = max(math.ceil(y0 - 0.5), 0)
        stop = min(math.ceil(y1 - 0.5), height)
        for row in range(first, stop):
            crossings.setdefault(row, []).append(x0 + (row + 0.5 - y0) * slope)
    spans: dict[int, list[tuple[int, int]]] = {}
    for row, xs in crossings.items():
        xs.sort()
        row_spans = []
        for left, right in zip(xs[0::2], xs[1::2], strict=False):
            start = max(math.ceil(left - 0.5), 0)
            stop = min(math.ceil(right - 0.5), width)
            if start < stop:
                row_spans.append((start, stop))
        if row_spans:
            spans[row] = row_spans
    return spans


def _png(pixels: bytearray, width: int, height: int) -> bytes:
    picture = Image.frombytes("P", (width, height), bytes(pixels))
    picture.putpalette(_PALETTE)
    data = io.BytesIO()
    picture.save(data, format="PNG")
    return data.getvalue()


def voc_masks(image: ImageRecord, class_index: Mapping[int, int]) -> tuple[bytes, bytes]:
    """The SegmentationClass and SegmentationObject PNGs of one image (mode P, the VOC palette).

    Class PNG: each pixel is its object's class index (`class_index[category_id]`, 1-based), 0 where no
    object is. Object PNG: each pixel is its object's number, 1..N in the image's order; all parts of an
    object share the number. A void region (class index 255) is 255 in both and takes no number. Later
    objects paint over earlier ones, in both PNGs, void regions included (as labelme paints them).

    Raises ValueError when an index does not fit VOC's 8-bit PNGs (more than 254 classes or objects) and
    KeyError for a category missing from `class_index`.
    """
    numbered = sum(1 for obj in image.objects if class_index[obj.category_id] != VOID)
    if numbered > MAX_INDEX:
        raise ValueError(
            f"Image {image.file_name!r} has {numbered} objects; a VOC object PNG holds {MAX_INDEX}."
        )
    width, height = image.width, image.height
    classes = bytearray(width * height)
    objects = bytearray(width * height)
    number = 0
    for obj in image.objects:
        class_number = class_index[obj.category_id]
        if class_number == VOID:
            object_number = VOID
        elif 1 <= class_number <= MAX_INDEX:
            number += 1
            object_number = number
        else:
            raise ValueError(f"Class index {class_number} is outside 1..{MAX_INDEX}.")
        class_fill = bytes([class_number]) * width
        object_fill = bytes([object_number]) * width
        for ring in obj.parts:
            for row, row_spans in ring_spans(ring, width, height).items():
                base = row * width
                for start, stop in row_spans:
                    classes[base + start : base + stop] = class_fill[: stop - start]
                    objects[base + start : base + stop] = object_fill[: stop - start]
    return _png(classes, width, height), _png(objects, width, height)


def voc_image_path(file_name: str) -> str:
    """Where an image goes in the export: `JPEGImages/<path without extension>.jpg` for a JPEG file
    (torchvision's VOCSegmentation opens `<name>.jpg`, whatever the image was called), else its own
    extension kept (Datumaro finds an image by its name with any extension)."""
    stem, extension = posixpath.splitext(file_name)
    if extension.lower() in (".jpg", ".jpeg"):
        return f"JPEGImages/{stem}.jpg"
    return f"JPEGImages/{file_name}"
