"""COCO instances JSON: a streaming writer, and a reader that refuses what it cannot take, record by record.

An object is one annotation whose `segmentation` lists one flat polygon per part; see docs/formats.md.
"""

from __future__ import annotations

import functools
import json
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from .model import (
    IGNORE_LABEL,
    OCCLUDED,
    Attributes,
    Category,
    ImageRecord,
    Obj,
    ParsedImage,
    ParsedImport,
    ParsedObject,
    Refusal,
    Refused,
    Ring,
    is_number,
    parts_bbox,
    positive_int,
    relative_path,
    ring_area,
    ring_from_points,
)

DEFAULT_INFO: Mapping[str, Any] = {"description": "Exported from polylog", "version": "1.0"}

# allow_nan=False: a NaN or infinity would make the file invalid JSON, so it fails loudly here instead.
_dump = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


# Writing ---------------------------------------------------------------------------------------------


def coco_annotation(obj: Obj, annotation_id: int, image_id: int, *, void: bool = False) -> dict[str, Any]:
    """One object as a COCO annotation: one flat [x1, y1, x2, y2, ...] list per part.

    `area` is the sum of the parts' shoelace areas (overlapping parts count twice; polylog has no holes),
    `bbox` is [x, y, width, height] around all parts. A void region (`void`, a shape of the IGNORE_LABEL
    class) is a crowd annotation, `iscrowd` 1 and `ignore` 1: COCO evaluation and the trainers built on it
    leave crowd regions out, and `ignore` is the flag other COCO readers (mmdetection) look for.

    `attributes` is as CVAT writes it: {"occluded": false, <name>: value, ...}, every attribute the label
    class declares (a declared checkbox "occluded" gives its own value).
    """
    x, y, w, h = parts_bbox(obj.parts)
    crowd = {"iscrowd": 1, "ignore": 1} if void else {"iscrowd": 0}
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": obj.category_id,
        "segmentation": [[c for point in ring for c in point] for ring in obj.parts],
        "area": sum(ring_area(ring) for ring in obj.parts),
        "bbox": [x, y, w, h],
        **crowd,
        "attributes": {OCCLUDED: False, **dict(obj.attributes)},
    }


def coco_write(
    images: Iterable[ImageRecord],
    categories: Sequence[Category],
    out: TextIO,
    *,
    info: Mapping[str, Any] | None = None,
) -> None:
    """Write a COCO instances document for `images` to `out`; see `coco_chunks`."""
    for chunk in coco_chunks(images, categories, info=info):
        out.write(chunk)


def coco_chunks(
    images: Iterable[ImageRecord],
    categories: Sequence[Category],
    *,
    info: Mapping[str, Any] | None = None,
) -> Iterator[str]:
    """A COCO instances document for `images`, as pieces of text, consuming `images` once and lazily.

    COCO lists every image before every annotation, so each image's entry is yielded as it comes and the
    annotations go to an anonymous temporary file, yielded at the end in blocks: memory holds one image at
    a time whatever the export's size (the disk holds the annotations once more, briefly), and a caller
    can stream the document out as it is made. Annotation ids run from 1 in the order written; image and
    category ids are kept as given. Floats are written as Python's repr, which reads back to the same float.

    Raises ValueError for an object whose category is not in `categories`, a repeated image id, or a
    coordinate that is not finite.
    """
    category_ids = {category.id for category in categories}
    void_ids = {category.id for category in categories if category.name == IGNORE_LABEL}
    yield '{"info":' + _dump(dict(info if info is not None else DEFAULT_INFO)) + ',\n"licenses":[],\n'
    yield '"categories":[\n'
    yield ",\n".join(
        _dump({"id": category.id, "name": category.name, "supercategory": ""}) for category in categories
    )
    yield '\n],\n"images":[\n'
    seen = _SeenIds()
    annotation_id = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as annotations:
        for image in images:
            first = seen.count == 0
            seen.add(image.id)
            yield ("" if first else ",\n") + _dump(
                {"id": image.id, "file_name": image.file_name, "width": image.width, "height": image.height}
            )
            for obj in image.objects:
                if obj.category_id not in category_ids:
                    raise ValueError(
                        f"Image {image.id} has an object of category {obj.category_id}, which is not exported."
                    )
                annotation_id += 1
                annotations.write(
                    ("" if annotation_id == 1 else ",\n")
                    + _dump(coco_annotation(obj, annotation_id, image.id, void=obj.category_id in void_ids))
                )
        yield '\n],\n"annotations":[\n'
        annotations.seek(0)
        while block := annotations.read(_BLOCK):
            yield block
    yield "\n]}\n"


_BLOCK = 1 << 16


class _SeenIds:
    """The image ids written, for the duplicate check, in 8 bytes an id while they increase (exports give
    them in id order, where none can repeat: only the last one matters); from the first id out of order
    on, a set of them all (docs/performance.md, a set costs about 80 bytes an id)."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.set: set[int] | None = None
        self.count = 0

    def add(self, image_id: int) -> None:
        if self.set is None:
            fits = isinstance(image_id, int) and -(2**63) <= image_id < 2**63
            if fits and (not self.ids or image_id > self.ids[-1]):
                self.ids.append(image_id)
                self.count += 1
                return
            self.set, self.ids = set(self.ids), array("q")
        if image_id in self.set:
            raise ValueError(f"Image id {image_id} is exported twice.")
        self.set.add(image_id)
        self.count += 1


# Reading ---------------------------------------------------------------------------------------------


def _empty(record: str, code: str, message: str) -> ParsedImport:
    return ParsedImport(categories=(), images=(), refusals=(Refusal(record, code, message),))


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def _read_category(record: Any, known: Mapping[Any, str]) -> tuple[Any, str]:
    if not isinstance(record, dict):
        raise Refused("invalid_category_record", "A category record must be a JSON object.")
    category_id, name = record.get("id"), record.get("name")
    if not _is_id(category_id):
        raise Refused("invalid_category_record", f"The category id {category_id!r} is not a number.")
    if not isinstance(name, str) or not name.strip():
        raise Refused("invalid_category_record", f"Category {category_id!r} has no name.")
    if category_id in known:
        raise Refused("invalid_category_record", f"Category id {category_id!r} is listed twice.")
    return category_id, name


def _read_image(record: Any, known: Mapping[Any, ParsedImage], names: set[str]) -> tuple[Any, ParsedImage]:
    if not isinstance(record, dict):
        raise Refused("invalid_image_record", "An image record must be a JSON object.")
    image_id = record.get("id")
    if not _is_id(image_id):
        raise Refused("invalid_image_record", f"The image id {image_id!r} is not a number.")
    if image_id in known:
        raise Refused("invalid_image_record", f"Image id {image_id!r} is listed twice.")
    file_name = record.get("file_name")
    if not isinstance(file_name, str) or not file_name.strip():
        raise Refused("invalid_image_record", f"Image {image_id!r} has no file_name.")
    width, height = positive_int(record.get("width")), positive_int(record.get("height"))
    if width is None or height is None:
        raise Refused(
            "invalid_image_record",
            f"Image {image_id!r} needs a positive whole width and height; it has "
            f"{record.get('width')!r} x {record.get('height')!r}.",
        )
    path = relative_path(file_name)
    if path in names:
        raise Refused("invalid_image_record", f"Image file {path!r} is listed twice.")
    return image_id, ParsedImage(file_name=path, width=width, height=height, objects=())


def _read_part(part: Any, width: int, height: int) -> Ring:
    if not isinstance(part, list):
        raise Refused("invalid_polygon", "A polygon must be a flat list [x1, y1, x2, y2, ...].")
    if len(part) % 2:
        raise Refused(
            "invalid_polygon", f"A polygon's flat list needs an even number of values; it has {len(part)}."
        )
    return ring_from_points(list(zip(part[0::2], part[1::2], strict=True)), width, height)


def _read_annotation(
    record: Any, index: int, images: Mapping[Any, ParsedImage], categories: Mapping[Any, str]
) -> tuple[Any, ParsedObject]:
    if not isinstance(record, dict):
        raise Refused("invalid_annotation_record", "An annotation record must be a JSON object.")
    image_id, category_id = record.get("image_id"), record.get("category_id")
    image = images.get(image_id) if _is_id(image_id) else None
    if image is None:
        raise Refused("unknown_image", f"No image record with id {image_id!r} was taken.")
    label = categories.get(category_id) if _is_id(category_id) else None
    if label is None:
        raise Refused("unknown_category", f"No category with id {category_id!r} is listed.")
    segmentation = record.get("segmentation")
    crowd = record.get("iscrowd") not in (None, 0, False)
    if isinstance(segmentation, dict) or (crowd and label != IGNORE_LABEL):
        raise Refused(
            "unsupported_segmentation",
            "A crowd region (iscrowd 1, RLE mask) cannot be imported; polylog keeps polygons only "
            f"(crowd polygons of the {IGNORE_LABEL!r} category are read as void regions).",
        )
    if segmentation is None or segmentation == []:
        raise Refused(
            "unsupported_segmentation", "The annotation has no polygon (a box alone cannot be imported)."
        )
    if not isinstance(segmentation, list):
        raise Refused("invalid_polygon", "The segmentation must be a list of flat polygons.")
    parts: list[Ring] = []
    for number, part in enumerate(segmentation):
        try:
            parts.append(_read_part(part, image.width or 0, image.height or 0))
        except Refused as refused:
            raise Refused(refused.code, f"Polygon {number}: {refused.message}") from None
    annotation_id = record.get("id", f"#{index}")
    group = f"coco-{annotation_id}" if len(parts) > 1 else None
    return image_id, ParsedObject(label, tuple(parts), group, _attributes(record.get("attributes")))


def _attributes(raw: Any) -> Attributes:
    """An annotation's `attributes` (CVAT's {"occluded": false, name: value}): its names with a scalar
    value; anything else in it (a list, an object, null) is no attribute value and is left out."""
    if not isinstance(raw, dict):
        return ()
    return tuple(
        (name, value)
        for name, value in raw.items()
        if isinstance(name, str) and (isinstance(value, bool | str) or is_number(value))
    )


def coco_read(data: bytes) -> ParsedImport:
    """Read a COCO instances document; every record that cannot be taken becomes one `Refusal`.

    A refused category, image or annotation contributes nothing, never a partial object; an annotation of
    a refused image or category is refused in turn (`unknown_image`, `unknown_category`). Labels are the
    category names, every one whether used or not, in the order the categories are listed; each annotation
    is one object whose parts are its polygons. Images without annotations are returned too, with no
    objects. Crowd annotations are refused, except polygons of the IGNORE_LABEL category (polylog's own
    void regions as the writer gives them), which are read as objects of that label. An annotation's
    `attributes` object (CVAT's) gives its object's attribute values, the scalar ones, unchecked.
    """
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _empty("file", "invalid_json", f"The file is not valid JSON: {error}")
    if not isinstance(document, dict):
        return _empty("file", "invalid_document", "A COCO file is a JSON object with images and categories.")
    image_records = document.get("images")
    category_records = document.get("categories")
    annotation_records = document.get("annotations", [])
    if not (
        isinstance(image_records, list)
        and isinstance(category_records, list)
        and isinstance(annotation_records, list)
    ):
        return _empty(
            "file",
            "invalid_document",
            'A COCO file needs "images" and "categories" lists (and "annotations", if any, as a list).',
        )

    refusals: list[Refusal] = []
    categories: dict[Any, str] = {}
    for index, record in enumerate(category_records):
        try:
            category_id, name = _read_category(record, categories)
        except Refused as refused:
            refusals.append(refused.refusal(f"categories[{index}]"))
        else:
            categories[category_id] = name

    images: dict[Any, ParsedImage] = {}
    names: set[str] = set()
    for index, record in enumerate(image_records):
        try:
            image_id, image = _read_image(record, images, names)
        except Refused as refused:
            refusals.append(refused.refusal(f"images[{index}]"))
        else:
            images[image_id] = image
            names.add(image.file_name)

    objects: dict[Any, list[ParsedObject]] = {image_id: [] for image_id in images}
    for index, record in enumerate(annotation_records):
        try:
            image_id, obj = _read_annotation(record, index, images, categories)
        except Refused as refused:
            refusals.append(refused.refusal(f"annotations[{index}]", objects=1))
        else:
            objects[image_id].append(obj)

    return ParsedImport(
        categories=tuple(dict.fromkeys(categories.values())),
        images=tuple(
            ParsedImage(image.file_name, image.width, image.height, tuple(objects[image_id]))
            for image_id, image in images.items()
        ),
        refusals=tuple(refusals),
    )
