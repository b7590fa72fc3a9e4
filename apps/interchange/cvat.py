"""CVAT for images 1.1 XML (annotations.xml): a streaming writer, and a reader that refuses shape by shape.

The layout is CVAT's own format description (docs.cvat.ai "XML annotation format", version 1.1) as CVAT's
exporter writes it: <meta><task><labels> declares each label and its attributes (input_type checkbox,
radio, select, number or text; `values` one per line), then one <image> per image with its <polygon>s,
`points="x,y;x,y"`, `occluded`, `z_order`, the `group_id` that joins an object's parts, and one
<attribute name=...> per attribute. See docs/formats.md for what polylog writes and reads.
"""

from __future__ import annotations

import functools
import io
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from apps.labeling.domain.attributes import CHECKBOX, NUMBER, SELECT, TEXT, AttributeSpec, parse_declarations
from apps.labeling.domain.errors import Rejected

from .model import (
    OCCLUDED,
    Attributes,
    Category,
    ImageRecord,
    ParsedImage,
    ParsedImport,
    ParsedObject,
    Refusal,
    Refused,
    Ring,
    attribute_text,
    positive_int,
    relative_path,
    ring_from_points,
)

CVAT_VERSION = "1.1"
# CVAT's input types and polylog's kinds; CVAT's radio is a select drawn as buttons.
_KIND_OF = {"checkbox": CHECKBOX, "radio": SELECT, "select": SELECT, "number": NUMBER, "text": TEXT}
# Shapes CVAT writes that have no area (or that polylog does not draw), refused one by one.
_OTHER_SHAPES = ("polyline", "points", "cuboid", "mask", "ellipse", "skeleton", "tag")


# Writing ---------------------------------------------------------------------------------------------


def _element(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>"


def _declaration(spec: AttributeSpec) -> str:
    if spec.kind == SELECT:
        values = "\n".join(spec.options)
    elif spec.kind == NUMBER:
        # CVAT's "min\nmax\nstep"; an open bound is an empty line.
        bounds = ("" if b is None else attribute_text(b) for b in (spec.minimum, spec.maximum))
        values = "\n".join([*bounds, "1"])
    else:
        values = attribute_text(spec.default)
    return (
        "<attribute>"
        + _element("name", spec.name)
        + _element("mutable", "True")
        + _element("input_type", spec.kind)
        + _element("default_value", attribute_text(spec.default))
        + _element("values", values)
        + "</attribute>"
    )


def _label(category: Category) -> str:
    declared = "".join(_declaration(spec) for spec in category.attributes)
    return (
        "\n      <label>"
        + _element("name", category.name)
        + _element("color", category.color)
        + _element("type", "polygon")
        + f"<attributes>{declared}</attributes></label>"
    )


def _point(value: float) -> str:
    return repr(float(value))


def _occluded(category: Category) -> bool:
    return any(spec.name == OCCLUDED and spec.kind == CHECKBOX for spec in category.attributes)


def cvat_chunks(
    images: Iterable[ImageRecord], categories: Sequence[Category], *, task_name: str = "polylog"
) -> Iterator[str]:
    """A CVAT for images 1.1 document for `images`, as pieces of text, consuming `images` once and lazily.

    Every label is declared with its attributes; each part of an object is one <polygon> (coordinates as
    Python's repr, which reads back to the same float); the parts of an object in several parts share a
    `group_id` numbered 1, 2, ... within the image (CVAT's 0 is "no group"). Every declared attribute is
    written, unset ones at their default; a class's checkbox named "occluded" is CVAT's `occluded` flag
    and is written as that flag only (other classes write occluded="0"). Image ids run from 0 in the order
    written, as CVAT numbers frames.

    Raises ValueError for an object whose category is not in `categories`.
    """
    by_id = {category.id: category for category in categories}
    occluded_ids = {category.id for category in categories if _occluded(category)}
    label_attrs = {category.id: quoteattr(category.name) for category in categories}
    yield '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  '
    yield _element("version", CVAT_VERSION) + "\n  <meta>\n    <task>"
    yield _element("name", task_name) + _element("mode", "annotation") + "\n    <labels>"
    yield "".join(_label(category) for category in categories)
    yield "\n    </labels>\n    </task>\n  </meta>\n"
    for frame, image in enumerate(images):
        pieces = [
            f'  <image id="{frame}" name={quoteattr(image.file_name)} width="{image.width}" '
            f'height="{image.height}">\n'
        ]
        groups = 0
        for obj in image.objects:
            category = by_id.get(obj.category_id)
            if category is None:
                raise ValueError(
                    f"Image {image.id} has an object of category {obj.category_id}, which is not exported."
                )
            group = ""
            if len(obj.parts) > 1:
                groups += 1
                group = f' group_id="{groups}"'
            occluded = "0"
            attributes = obj.attributes
            if obj.category_id in occluded_ids:
                occluded = "1" if dict(attributes).get(OCCLUDED) is True else "0"
                attributes = tuple(pair for pair in attributes if pair[0] != OCCLUDED)
            inner = "".join(_attribute_element(name, value) for name, value in attributes)
            for ring in obj.parts:
                points = ";".join(f"{_point(x)},{_point(y)}" for x, y in ring)
                pieces.append(
                    f'    <polygon label={label_attrs[category.id]} source="manual" '
                    f'occluded="{occluded}" points="{points}" z_order="0"{group}>{inner}\n    </polygon>\n'
                )
        pieces.append("  </image>\n")
        yield "".join(pieces)
    yield "</annotations>\n"


@functools.lru_cache(maxsize=4096, typed=True)  # typed: True, 1 and 1.0 are written differently
def _attribute_element(name: str, value: object) -> str:
    """One <attribute> of a polygon. A job's objects repeat a few (name, value) pairs: each is escaped once
    (quoteattr and escape per value were most of what attributes cost a CVAT export)."""
    return f"\n      <attribute name={quoteattr(name)}>{escape(attribute_text(value))}</attribute>"


# Reading ---------------------------------------------------------------------------------------------


def _text(element: ElementTree.Element | None) -> str:
    return "" if element is None or element.text is None else element.text


def _declarations(label: ElementTree.Element) -> list[dict[str, Any]]:
    """A <label>'s attributes as parse_declarations takes them, or Refused naming the first one wrong."""
    out: list[dict[str, Any]] = []
    for attribute in label.iter("attribute"):
        name, input_type = _text(attribute.find("name")), _text(attribute.find("input_type"))
        kind = _KIND_OF.get(input_type.strip())
        if kind is None:
            raise Refused(
                "invalid_attributes",
                f"Attribute {name!r} has the input_type {input_type!r}, not one of "
                "checkbox, radio, select, number, text.",
            )
        values = _text(attribute.find("values")).split("\n")
        default = _text(attribute.find("default_value"))
        row: dict[str, Any] = {"name": name, "kind": kind}
        if kind == SELECT:
            row["options"] = [value for value in values if value]
        if kind == NUMBER:
            for key, bound in zip(("min", "max"), values, strict=False):
                if bound.strip():
                    try:
                        row[key] = float(bound)
                    except ValueError:
                        raise Refused(
                            "invalid_attributes", f"Attribute {name!r}: {key} {bound!r} is not a number."
                        ) from None
        if kind == CHECKBOX:
            row["default"] = default.strip().lower() == "true"
        elif kind == NUMBER:
            try:
                row["default"] = float(default) if default.strip() else None
            except ValueError:
                raise Refused(
                    "invalid_attributes", f"Attribute {name!r}: the default {default!r} is not a number."
                ) from None
        else:
            row["default"] = default if default or kind == TEXT else None
        out.append(row)
    return out


def _box_ring(element: ElementTree.Element) -> list[tuple[str, str]]:
    if element.get("rotation") not in (None, "0", "0.0", "0.00"):
        raise Refused("unsupported_shape", "A rotated box cannot be imported; only polygons and boxes do.")
    x0, y0, x1, y1 = (element.get(key) or "" for key in ("xtl", "ytl", "xbr", "ybr"))
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _ring(element: ElementTree.Element, width: int | None, height: int | None) -> Ring:
    if element.tag == "box":
        pairs: list[Any] = _box_ring(element)
    else:
        pairs = [pair.split(",") for pair in (element.get("points") or "").split(";") if pair.strip()]
        if not all(len(pair) == 2 for pair in pairs):
            raise Refused("invalid_polygon", 'The points must read "x,y;x,y;...".')
    numbers = []
    for x, y in pairs:
        try:
            numbers.append((float(x), float(y)))
        except ValueError:
            raise Refused("invalid_coordinates", f"({x!r}, {y!r}) is not a pair of numbers.") from None
    return ring_from_points(numbers, width, height)


def _shape_attributes(element: ElementTree.Element) -> Attributes:
    """CVAT's occluded flag, then the <attribute>s, as text (the import reads them by their declaration)."""
    occluded = (OCCLUDED, element.get("occluded") == "1")
    return (occluded, *((a.get("name") or "", _text(a)) for a in element.iter("attribute")))


def _group(element: ElementTree.Element) -> int:
    try:
        return int(element.get("group_id") or 0)
    except ValueError:
        raise Refused("invalid_shape", f"The group_id {element.get('group_id')!r} is not a number.") from None


def _image(element: ElementTree.Element, index: int) -> tuple[ParsedImage, list[Refusal]]:
    name = element.get("name") or ""
    where = f"images[{index}] ({name})"
    file_name = relative_path(name)
    width, height = positive_int_text(element.get("width")), positive_int_text(element.get("height"))
    refused: list[tuple[int, Refusal]] = []
    objects: dict[tuple[Any, ...], list[tuple[int, Ring, Attributes]]] = {}
    failed: dict[tuple[Any, ...], int] = {}
    for number, shape in enumerate(element):
        record = f"{where} {shape.tag}[{number}]"
        if shape.tag in _OTHER_SHAPES:
            message = f"A {shape.tag} has no area to import; only polygons and boxes do."
            refused.append((number, Refusal(record, "unsupported_shape", message, 1)))
            continue
        if shape.tag not in ("polygon", "box"):
            continue
        label = shape.get("label")
        try:
            if not label or not label.strip():
                raise Refused("invalid_shape", "The shape has no label.")
            group = _group(shape)
        except Refused as error:
            refused.append((number, error.refusal(record, objects=1)))
            continue
        key = (label, group) if group else (label, 0, number)
        parts = objects.setdefault(key, [])
        try:
            parts.append((number, _ring(shape, width, height), _shape_attributes(shape)))
        except Refused as error:
            refused.append((number, error.refusal(record, objects=int(key not in failed))))
            failed.setdefault(key, number)
    parsed: list[ParsedObject] = []
    for key, parts in objects.items():
        label, group = key[0], key[1]
        if key in failed:
            for number, _, _ in parts:
                message = (
                    f"Shape {failed[key]}, another part of the same object (label {label!r}, group_id "
                    f"{group}), was refused; an object is imported whole or not at all."
                )
                shape_tag = element[number].tag
                refused.append(
                    (number, Refusal(f"{where} {shape_tag}[{number}]", "incomplete_object", message))
                )
            continue
        group_name = f"cvat-{group}-{label}" if len(parts) > 1 else None
        parsed.append(ParsedObject(label, tuple(ring for _, ring, _ in parts), group_name, parts[0][2]))
    refused.sort(key=lambda pair: pair[0])
    return ParsedImage(file_name, width, height, tuple(parsed)), [r for _, r in refused]


def positive_int_text(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return positive_int(float(value))
    except ValueError:
        return None


def _empty(code: str, message: str) -> ParsedImport:
    return ParsedImport(categories=(), images=(), refusals=(Refusal("file", code, message),))


def cvat_read(data: bytes) -> ParsedImport:
    """Read a CVAT for images 1.1 document; every record that cannot be taken becomes one `Refusal`.

    Labels are those <meta> declares, in its order, with their attributes (a label whose declarations
    polylog cannot take is listed without them, and refused as `invalid_attributes`); each <polygon> (and
    each <box>, as its four corners) is a part; polygons of one label sharing a non-zero `group_id` are one
    object, others one object each, taken whole or not at all (`incomplete_object`). An object's attributes
    are its first part's: ("occluded", the flag) and each <attribute>'s text. Other shapes, and video
    tracks, are refused (`unsupported_shape`). A document with a DTD is refused whole: entities are how
    XML files exhaust a reader's memory, and CVAT writes none.
    """
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        return _empty("invalid_document", "A CVAT XML file has no DOCTYPE or ENTITY declarations.")
    labels: dict[str, list[dict[str, Any]]] = {}
    images: list[ParsedImage] = []
    refusals: list[Refusal] = []
    names: set[str] = set()
    depth, in_meta, seen_root, index = 0, False, False, -1
    try:
        for event, element in ElementTree.iterparse(io.BytesIO(data), events=("start", "end")):
            if event == "start":
                if depth == 0 and element.tag != "annotations":
                    return _empty("invalid_document", "A CVAT XML file's root element is <annotations>.")
                seen_root = True
                depth += 1
                in_meta = in_meta or element.tag == "meta"
                continue
            depth -= 1
            if element.tag == "meta":
                in_meta = False
                for number, label in enumerate(element.iter("label")):
                    name = _text(label.find("name")).strip()
                    if not name:
                        message = "A label has no name."
                        refusals.append(Refusal(f"meta labels[{number}]", "invalid_category_record", message))
                        continue
                    try:
                        labels[name] = _declarations(label)
                    except Refused as error:
                        labels[name] = []
                        refusals.append(error.refusal(f"meta label {name!r}"))
                element.clear()
            elif depth == 1 and element.tag == "image":
                index += 1
                try:
                    image, refused = _image(element, index)
                    if image.file_name in names:
                        raise Refused("invalid_image_record", f"Image {image.file_name!r} is listed twice.")
                except Refused as error:
                    count = sum(1 for child in element if child.tag in ("polygon", "box", *_OTHER_SHAPES))
                    refusals.append(Refusal(f"images[{index}]", "invalid_image_record", error.message, count))
                else:
                    names.add(image.file_name)
                    images.append(image)
                    refusals += refused
                element.clear()
            elif depth == 1 and element.tag == "track":
                message = "A video track cannot be imported; export the task as CVAT for images."
                refusals.append(Refusal(f"track {element.get('id')}", "unsupported_shape", message, 1))
                element.clear()
            elif depth == 1 and not in_meta:
                element.clear()
    except ElementTree.ParseError as error:
        return _empty("invalid_xml", f"The file is not well-formed XML: {error}")
    if not seen_root:
        return _empty("invalid_document", "A CVAT XML file's root element is <annotations>.")
    checked: dict[str, list[dict[str, Any]]] = {}
    for name, rows in labels.items():
        try:
            parse_declarations(rows)
        except Rejected as error:
            refusals.append(Refusal(f"meta label {name!r}", "invalid_attributes", error.message))
            rows = []
        checked[name] = rows
    return ParsedImport(
        categories=tuple(checked), images=tuple(images), refusals=tuple(refusals), declarations=checked
    )
