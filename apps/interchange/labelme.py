"""LabelMe JSON, one document per image: the writer and a reader that refuses shape by shape.

LabelMe joins shapes into one object by (label, group_id), as its own `shapes_to_label` does; see
docs/formats.md for the choices made here (`__ignore__` void regions, rectangles, image paths). A void
region is an ordinary shape of the IGNORE_LABEL label both ways, as labelme itself writes it.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from apps.labeling.domain.attributes import CHECKBOX

from .model import (
    Attributes,
    Category,
    ImageRecord,
    ParsedImage,
    ParsedObject,
    Refusal,
    Refused,
    Ring,
    attribute_text,
    finite,
    positive_int,
    relative_path,
    ring_from_points,
)

LABELME_VERSION = "5.5.0"

# Shape types that are areas and become a polygon; the rest (point, line, linestrip, circle, mask, ...)
# are refused.
POLYGON_TYPES = ("polygon", "rectangle", "oriented_rectangle")


# Writing ---------------------------------------------------------------------------------------------


def labelme_document(
    image: ImageRecord, categories: Mapping[int, Category] | Sequence[Category], image_path: str
) -> dict[str, Any]:
    """One image as a LabelMe 5.x document; `image_path` is the image's path relative to the JSON.

    Each part becomes a polygon shape. The parts of a multi-part object share a `group_id` numbered 1, 2,
    ... within the document (not 0, which careless scripts take for "no group"); one-part objects get
    `group_id` None. `imageData` is None: the image file sits beside the document.

    Attributes go on every part: checkboxes in the shape's `flags` ({name: true|false}, what labelme's
    per-shape flags are), the others in its `description`, one `name=value` line each (see
    `description_text`).
    """
    by_id = categories if isinstance(categories, Mapping) else {c.id: c for c in categories}
    shapes: list[dict[str, Any]] = []
    groups = 0
    for obj in image.objects:
        label = by_id[obj.category_id].name
        group_id = None
        if len(obj.parts) > 1:
            groups += 1
            group_id = groups
        flags, description = _flags_and_description(obj.attributes, by_id[obj.category_id])
        for ring in obj.parts:
            shapes.append(
                {
                    "label": label,
                    "points": [[x, y] for x, y in ring],
                    "group_id": group_id,
                    "description": description,
                    "shape_type": "polygon",
                    "flags": dict(flags),
                    "mask": None,
                }
            )
    return {
        "version": LABELME_VERSION,
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": image.height,
        "imageWidth": image.width,
    }


def _flags_and_description(attributes: Attributes, category: Category) -> tuple[dict[str, bool], str]:
    if not attributes:
        return {}, ""
    checkboxes = {spec.name for spec in category.attributes if spec.kind == CHECKBOX}
    flags = {name: value for name, value in attributes if name in checkboxes}
    others = [(name, value) for name, value in attributes if name not in checkboxes]
    return flags, description_text(others)


def description_text(attributes: Attributes) -> str:
    """`name=value` lines; a backslash and a line break inside a value are written `\\\\` and `\\n`."""
    return "\n".join(
        f"{name}={attribute_text(value).replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}"
        for name, value in attributes
    )


def description_attributes(description: Any) -> Attributes:
    """The `name=value` lines of a description as (name, text); other lines are free text, not attributes."""
    if not isinstance(description, str):
        return ()
    out = []
    for line in description.split("\n"):
        name, sep, value = line.partition("=")
        if sep and name.strip():
            out.append((name.strip(), _unescape(value)))
    return tuple(out)


def _unescape(text: str) -> str:
    out, chars = [], iter(text)
    for ch in chars:
        if ch == "\\":
            following = next(chars, "")
            out.append("\n" if following == "n" else following)
        else:
            out.append(ch)
    return "".join(out)


def _shape_attributes(shape: Mapping[str, Any]) -> Attributes:
    flags = shape.get("flags")
    checked = tuple(
        (name, value)
        for name, value in (flags.items() if isinstance(flags, dict) else ())
        if isinstance(value, bool)
    )
    return checked + description_attributes(shape.get("description"))


# Reading ---------------------------------------------------------------------------------------------


def _size(document: Mapping[str, Any], key: str) -> int | None:
    value = document.get(key)
    if value is None:
        return None
    size = positive_int(value)
    if size is None:
        raise Refused("invalid_document", f"{key} must be a positive whole number; it is {value!r}.")
    return size


def _shape_key(shape: Any) -> tuple[str, int | None]:
    """The shape's (label, group_id), checked; a shape without these cannot be placed in any object."""
    if not isinstance(shape, dict):
        raise Refused("invalid_shape", "A shape must be a JSON object.")
    label, group_id = shape.get("label"), shape.get("group_id")
    if not isinstance(label, str) or not label.strip():
        raise Refused("invalid_shape", f"The shape's label {label!r} is not a name.")
    if group_id is not None and not (isinstance(group_id, int) and not isinstance(group_id, bool)):
        raise Refused("invalid_shape", f"The group_id {group_id!r} is not a whole number.")
    return label, group_id


def _shape_ring(shape: Mapping[str, Any], width: int | None, height: int | None) -> Ring:
    # LabelMe itself draws a shape without a shape_type as a polygon.
    shape_type = shape.get("shape_type") or "polygon"
    if shape_type not in POLYGON_TYPES:
        raise Refused("unsupported_shape", f"A {shape_type!r} shape has no area to import; only polygons do.")
    points = shape.get("points")
    if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2 for p in points):
        raise Refused("invalid_shape", "The shape's points must be a list of [x, y] pairs.")
    if shape_type == "rectangle":
        if len(points) != 2:
            raise Refused("invalid_shape", f"A rectangle has 2 corner points; this one has {len(points)}.")
        (x0, y0), (x1, y1) = points
        # Sorted only when all are finite: min() and max() would silently drop a NaN.
        if all(finite(v) is not None for v in (x0, y0, x1, y1)):
            # Clockwise on screen from the top-left corner, whichever two corners were given.
            x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        points = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    return ring_from_points(points, width, height)


def labelme_read(name: str, data: bytes) -> tuple[ParsedImage | None, list[Refusal]]:
    """Read one LabelMe document named `name` (its path relative to the import root).

    The image is `imagePath` resolved against the document's folder; its size is imageWidth/imageHeight
    (None when absent, and then vertices are not checked against it). Shapes with the same (label,
    group_id), group_id not None, are one object of several parts; other shapes are one object each.
    A refused shape refuses the rest of its object too (`incomplete_object`): an object is taken whole or
    not at all. An object's attributes are its first shape's flags (true/false ones) and `name=value` lines
    of its description. Returns (None, [the refusal]) when the document itself cannot be read.
    """
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, [Refusal(name, "invalid_json", f"The file is not valid JSON: {error}")]
    try:
        if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
            raise Refused("invalid_document", 'A LabelMe document is a JSON object with a "shapes" list.')
        image_path = document.get("imagePath")
        if not isinstance(image_path, str):
            raise Refused("invalid_document", 'A LabelMe document names its image in "imagePath".')
        width, height = _size(document, "imageWidth"), _size(document, "imageHeight")
        folder = posixpath.dirname(name.replace("\\", "/"))
        file_name = relative_path(image_path, folder)
    except Refused as refused:
        return None, [refused.refusal(name)]

    refused_at: list[tuple[int, Refusal]] = []
    # Each object's parts as (shape index, ring), keyed (label, group_id) or (label, None, index).
    objects: dict[tuple[Any, ...], list[tuple[int, Ring]]] = {}
    failed: dict[tuple[Any, ...], int] = {}
    for index, shape in enumerate(document["shapes"]):
        record = f"{name} shapes[{index}]"
        try:
            label, group_id = _shape_key(shape)
        except Refused as refused:  # a shape that belongs to no object counts as one
            refused_at.append((index, refused.refusal(record, objects=1)))
            continue
        key = (label, group_id) if group_id is not None else (label, None, index)
        parts = objects.setdefault(key, [])
        try:
            parts.append((index, _shape_ring(shape, width, height)))
        except Refused as refused:  # the object is counted once, at its first refused shape
            refused_at.append((index, refused.refusal(record, objects=int(key not in failed))))
            failed.setdefault(key, index)

    # A group_id that several labels share makes several objects; their group strings must differ.
    labels_per_group: dict[int, set[str]] = {}
    for key in objects:
        if key[1] is not None:
            labels_per_group.setdefault(key[1], set()).add(key[0])

    parsed: list[ParsedObject] = []
    for key, parts in objects.items():
        label, group_id = key[0], key[1]
        if key in failed:
            for index, _ in parts:
                refused_at.append(
                    (
                        index,
                        Refusal(
                            f"{name} shapes[{index}]",
                            "incomplete_object",
                            f"Shape {failed[key]}, another part of the same object (label {label!r}, "
                            f"group_id {group_id}), was refused; an object is imported whole or not at all.",
                        ),
                    )
                )
            continue
        group = None
        if len(parts) > 1:
            group = f"labelme-{group_id}"
            if len(labels_per_group[group_id]) > 1:
                group = f"labelme-{group_id}-{label}"
        attributes = _shape_attributes(document["shapes"][parts[0][0]])
        parsed.append(ParsedObject(label, tuple(ring for _, ring in parts), group, attributes))

    refused_at.sort(key=lambda item: item[0])
    image = ParsedImage(file_name=file_name, width=width, height=height, objects=tuple(parsed))
    return image, [refusal for _, refusal in refused_at]
