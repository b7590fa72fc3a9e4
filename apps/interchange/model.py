"""The neutral model that every format converts to and from, and the checks the readers share.

Writers take `ImageRecord`s (what polylog holds); readers return a `ParsedImport` or `ParsedImage`s (what a
file said, labels by name) plus `Refusal`s, one per record they could not take. Nothing here does I/O.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.labeling.domain.attributes import CHECKBOX, NUMBER, AttributeSpec, Value
from apps.labeling.domain.errors import Rejected

Point = tuple[float, float]
# A closed ring listed once: the first point is NOT repeated at the end.
Ring = tuple[Point, ...]

# A vertex up to this many pixels outside the image is moved onto the edge; farther out, its record is
# refused. Annotation tools routinely leave vertices a fraction of a pixel past the border (a click on the
# last row lands at height + 0.4), and refusing those would lose real work.
CLAMP_TOLERANCE = 1.0

# The label of void regions: areas to leave out of training and evaluation (an unclear boundary, a crowd
# nobody outlined one by one), PASCAL VOC's value 255. It is labelme's own name for them. A job's label
# class of this name holds its void regions: drawn and edited like any shape, written as 255 in VOC masks,
# as crowd annotations in COCO, as `__ignore__` shapes in LabelMe, and left out of YOLO (docs/formats.md).
IGNORE_LABEL = "__ignore__"

# CVAT's own flag on every shape (CVAT XML's occluded="0|1", CVAT COCO's attributes.occluded). A label
# class that declares a checkbox of this name carries it; other classes write it as false (docs/formats.md).
OCCLUDED = "occluded"

# (name, value) of an object's attributes: every attribute its label class declares, in the declared
# order, unset ones at their default (exports); or as a file gave them (imports, values unchecked).
Attributes = tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Category:
    """A label class as exported: `id` as polylog knows it, `color` as '#rrggbb'."""

    id: int
    name: str
    color: str
    attributes: tuple[AttributeSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Obj:
    """One object of an image: one ring, or several when it was drawn in pieces.

    `group` is the group id its parts share (None for a one-part object); `attributes` are every value its
    label class declares, in the declared order (the first part's values, defaults where unset).
    """

    category_id: int
    parts: tuple[Ring, ...]
    group: str | None = None
    attributes: Attributes = ()


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image to export; `file_name` is its path relative to the dataset root, like 'a/b.jpg'."""

    id: int
    file_name: str
    width: int
    height: int
    objects: tuple[Obj, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    """One record of an import that was not taken, and why.

    `record` names it the way a person finds it in the file ('annotations[12]', 'a/b.json shapes[3]');
    `code` is stable and machine-readable; `message` is for people. `objects` is how many objects of the
    file the refusal stands for: 1 for a refused annotation or the first refused shape of an object, 0 for
    a record that is no object (a category, an image record, the file) and for the other shapes of an
    object already counted, so that the refusals of an import add up to the objects it did not take.
    """

    record: str
    code: str
    message: str
    objects: int = 0


@dataclass(frozen=True, slots=True)
class ParsedObject:
    """An object as a file gave it: its label's name, its parts, the group id that joined them, and the
    attribute values the file gave it (names and values as read; the import checks them)."""

    label: str
    parts: tuple[Ring, ...]
    group: str | None = None
    attributes: Attributes = ()


@dataclass(frozen=True, slots=True)
class ParsedImage:
    """The objects a file gave for one image; the size is None where the file did not say it."""

    file_name: str
    width: int | None
    height: int | None
    objects: tuple[ParsedObject, ...]


@dataclass(frozen=True, slots=True)
class ParsedImport:
    """What a labeled import read: label names in the order the file lists them (every one, used or not),
    the images, and what it refused."""

    categories: tuple[str, ...]
    images: tuple[ParsedImage, ...]
    refusals: tuple[Refusal, ...]
    # {label name: its attribute declarations in parse_declarations' JSON form}, where the file declares
    # them (CVAT XML's <meta>); a label class the import creates starts with these.
    declarations: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)


class Refused(Exception):
    """A record that cannot be taken; readers turn it into a `Refusal` naming the record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def refusal(self, record: str, objects: int = 0) -> Refusal:
        return Refusal(record=record, code=self.code, message=self.message, objects=objects)


# Geometry -------------------------------------------------------------------------------------------


def ring_area(ring: Ring) -> float:
    """The area enclosed by a ring, by the shoelace formula (absolute value, so orientation does not matter).

    A self-intersecting ring gets its signed sum's magnitude, as shoelace gives; readers carry such rings
    and the integration decides about them.
    """
    following = ring[1:] + ring[:1]
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, following, strict=True))
    return abs(twice) / 2.0


def parts_bbox(parts: Iterable[Ring]) -> tuple[float, float, float, float]:
    """The box (x, y, width, height) around every vertex of every part."""
    xs = [x for ring in parts for x, _ in ring]
    ys = [y for ring in parts for _, y in ring]
    x0, y0 = min(xs), min(ys)
    return (x0, y0, max(xs) - x0, max(ys) - y0)


def ring_perimeter(ring: Ring) -> float:
    count = len(ring)
    return sum(math.dist(ring[i], ring[(i + 1) % count]) for i in range(count))


# Reader checks ---------------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    """A JSON number: int or float, but not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def finite(value: Any) -> float | None:
    """A JSON number as a finite float; None for NaN, infinities, an int too big for a float, non-numbers."""
    if not is_number(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def fmt(value: float) -> str:
    return f"{value:g}"


def ring_from_points(points: Sequence[Sequence[Any]], width: int | None, height: int | None) -> Ring:
    """A ring from a file's (x, y) pairs, checked in this order, or `Refused`.

    1. every coordinate is a finite number (`invalid_coordinates`);
    2. every vertex lies in [0, width] x [0, height] up to `CLAMP_TOLERANCE` (`out_of_bounds`), and a vertex
       within the tolerance is clamped onto the edge (skipped when the size is unknown);
    3. a repeated closing point and consecutive repeats (which clamping can make) are dropped, and at least
       3 distinct vertices remain (`too_few_points`).

    Self-intersecting rings are carried as they are.
    """
    clean: list[Point] = []
    for index, pair in enumerate(points):
        raw_x, raw_y = pair
        # The common case first (plain floats; type() is, not isinstance, so a bool never passes), as an
        # import reads hundreds of thousands of vertices; anything else takes the careful path.
        if type(raw_x) is float and type(raw_y) is float and math.isfinite(raw_x) and math.isfinite(raw_y):
            x, y = raw_x, raw_y
        else:
            x, y = finite(raw_x), finite(raw_y)
        if x is None or y is None:
            raise Refused(
                "invalid_coordinates",
                f"Vertex {index} ({raw_x!r}, {raw_y!r}) is not a pair of finite numbers.",
            )
        if width is not None and height is not None:
            if not (
                -CLAMP_TOLERANCE <= x <= width + CLAMP_TOLERANCE
                and -CLAMP_TOLERANCE <= y <= height + CLAMP_TOLERANCE
            ):
                raise Refused(
                    "out_of_bounds",
                    f"Vertex {index} ({fmt(x)}, {fmt(y)}) lies more than {fmt(CLAMP_TOLERANCE)} pixel "
                    f"outside the {width}x{height} image.",
                )
            x = min(max(x, 0.0), float(width))
            y = min(max(y, 0.0), float(height))
        if not clean or clean[-1] != (x, y):
            clean.append((x, y))
    while len(clean) > 1 and clean[0] == clean[-1]:
        clean.pop()
    distinct = len(set(clean))
    if distinct < 3:
        raise Refused(
            "too_few_points", f"A polygon needs at least 3 distinct vertices; this one has {distinct}."
        )
    return tuple(clean)


_DRIVE = re.compile(r"^[A-Za-z]:")


def relative_path(path: str, folder: str = "") -> str:
    """`path` (relative to `folder`) as a clean path relative to the import root, or `Refused`.

    Backslashes become slashes and '.' and '..' are resolved; an absolute path, or one that climbs out of
    the import root, is refused (`invalid_image_path`).
    """
    if not isinstance(path, str) or not path.strip():
        raise Refused("invalid_image_path", "The image path is empty.")
    posix = path.replace("\\", "/")
    if posix.startswith("/") or _DRIVE.match(posix):
        raise Refused("invalid_image_path", f"The image path {path!r} is absolute; it must be relative.")
    joined = posixpath.normpath(posixpath.join(folder, posix))
    if joined == "." or joined == ".." or joined.startswith("../"):
        raise Refused("invalid_image_path", f"The image path {path!r} points outside the imported folder.")
    return joined


def positive_int(value: Any) -> int | None:
    """A JSON value as a positive whole number (500 or 500.0), or None."""
    number = finite(value)
    if number is not None and number == int(number) and number > 0:
        return int(number)
    return None


# Attribute values in files --------------------------------------------------------------------------


def attribute_text(value: Value) -> str:
    """A value as text formats write it (CVAT XML, LabelMe's description): 'true'/'false' for a checkbox,
    a whole number without '.0', other numbers as Python's repr (which reads back to the same float)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def attribute_value(spec: AttributeSpec, raw: Any) -> Value:
    """A value a file gave for the attribute `spec` as the attribute stores it, or Refused
    ("invalid_attribute_value"). Text formats give text: a checkbox takes 'true'/'false' (any case) and
    '1'/'0', a number takes a numeral; JSON formats give the value itself."""
    value = raw
    if isinstance(raw, str):
        if spec.kind == CHECKBOX:
            value = {"true": True, "1": True, "false": False, "0": False}.get(raw.strip().lower(), raw)
        elif spec.kind == NUMBER:
            try:
                value = float(raw)
            except ValueError:
                value = raw
    elif is_number(raw) and spec.kind not in (NUMBER, CHECKBOX):
        value = attribute_text(float(raw))
    try:
        return spec.check(value)
    except Rejected as error:
        raise Refused("invalid_attribute_value", error.message) from None
