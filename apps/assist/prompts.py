"""The prompts an assist request carries, parsed and checked against the item's image like a command's input.

Every field is checked before any pixel is read: numbers finite (a JSON true is not a number), coordinates
inside [0, width] x [0, height], counts bounded, a box with an area. Anything wrong is a 400
`invalid_prompt` whose message names the field, and nothing is ever written (assist only proposes). Fields
the contract does not name are ignored, as DRF's serializers do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from apps.common.errors import ApiError

MAX_ANCHORS = 500
MAX_POINTS = 50
MAX_SIMPLIFY_PX = 50.0
MAX_COLOUR_TOLERANCE = 255.0
SCISSORS_TOLERANCE = 1.0
BOX_TOLERANCE = 1.0
WAND_TOLERANCE = 32.0
WAND_SIMPLIFY = 1.0

Point = tuple[float, float]


@dataclass(frozen=True)
class LabeledPoint:
    """A click that says "this is the object" (label 1, foreground) or "this is not" (label 0)."""

    x: float
    y: float
    label: int


@dataclass(frozen=True)
class ScissorsPrompt:
    anchors: tuple[Point, ...]
    pointer: Point | None
    close: bool
    tolerance: float


@dataclass(frozen=True)
class BoxPrompt:
    box: tuple[float, float, float, float]  # x0 < x1, y0 < y1
    points: tuple[LabeledPoint, ...]
    tolerance: float


@dataclass(frozen=True)
class WandPrompt:
    point: Point
    tolerance: float
    simplify: float


@dataclass(frozen=True)
class ModelPrompt:
    points: tuple[LabeledPoint, ...]
    box: tuple[float, float, float, float] | None


def invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_prompt", message)


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{field} must be a number, not {_kind(value)}.")
    try:
        number = float(value)
    except OverflowError:  # an integer past any float
        raise invalid(f"{field} is not a finite number.") from None
    if not math.isfinite(number):
        raise invalid(f"{field} is not a finite number.")
    return number


def _ranged(data: dict[str, Any], field: str, low: float, high: float, default: float) -> float:
    if data.get(field) is None:
        return default
    number = _number(data[field], field)
    if not low <= number <= high:
        raise invalid(f"{field} must lie between {low:g} and {high:g}; it is {number:g}.")
    return number


def _point(value: Any, field: str, width: int, height: int) -> Point:
    if not isinstance(value, list) or len(value) != 2:
        raise invalid(f"{field} must be a pair [x, y], not {_kind(value)}.")
    x, y = _number(value[0], f"{field}[0]"), _number(value[1], f"{field}[1]")
    _inside(x, y, field, width, height)
    return x, y


def _inside(x: float, y: float, field: str, width: int, height: int) -> None:
    if not (0 <= x <= width and 0 <= y <= height):
        raise invalid(f"{field} ({x:g}, {y:g}) lies outside the {width}x{height} image.")


def _list(data: dict[str, Any], field: str, low: int, high: int) -> list[Any]:
    value = data.get(field)
    if value is None and low == 0:
        return []
    if not isinstance(value, list):
        raise invalid(f"{field} must be a list, not {_kind(value)}.")
    if not low <= len(value) <= high:
        raise invalid(f"{field} holds {low} to {high} entries; it has {len(value)}.")
    return value


def _bool(data: dict[str, Any], field: str) -> bool:
    value = data.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"{field} must be true or false, not {_kind(value)}.")
    return value


def _labeled_points(data: dict[str, Any], width: int, height: int) -> tuple[LabeledPoint, ...]:
    found = []
    for i, entry in enumerate(_list(data, "points", 0, MAX_POINTS)):
        field = f"points[{i}]"
        if not isinstance(entry, dict):
            raise invalid(f"{field} must be an object {{x, y, label}}, not {_kind(entry)}.")
        x, y = _number(entry.get("x"), f"{field}.x"), _number(entry.get("y"), f"{field}.y")
        _inside(x, y, field, width, height)
        label = entry.get("label")
        if isinstance(label, bool) or label not in (0, 1):
            raise invalid(f"{field}.label must be 1 (foreground) or 0 (background).")
        found.append(LabeledPoint(x, y, int(label)))
    return tuple(found)


def _box(value: Any, width: int, height: int) -> tuple[float, float, float, float]:
    if not isinstance(value, list) or len(value) != 4:
        raise invalid(f"box must be [x0, y0, x1, y1], not {_kind(value)}.")
    x0, y0, x1, y1 = (_number(v, f"box[{i}]") for i, v in enumerate(value))
    _inside(x0, y0, "box's corner (x0, y0)", width, height)
    _inside(x1, y1, "box's corner (x1, y1)", width, height)
    # Dragged either way: the corners are put in order.
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise invalid(f"The box {x1 - x0:g}x{y1 - y0:g} has no area: it must be at least 1x1 pixel.")
    return x0, y0, x1, y1


def scissors_prompt(data: Any, width: int, height: int) -> ScissorsPrompt:
    """`{"anchors": [[x, y], ...], "pointer": [x, y] | null, "close": bool, "tolerance": 0..50}`."""
    data = _object(data)
    anchors = tuple(
        _point(a, f"anchors[{i}]", width, height)
        for i, a in enumerate(_list(data, "anchors", 1, MAX_ANCHORS))
    )
    pointer = None if data.get("pointer") is None else _point(data["pointer"], "pointer", width, height)
    close = _bool(data, "close")
    tolerance = _ranged(data, "tolerance", 0, MAX_SIMPLIFY_PX, SCISSORS_TOLERANCE)
    if not close and pointer is None:
        raise invalid("A live preview (close false) needs the pointer.")
    if close and len(anchors) + (pointer is not None) < 3:
        raise invalid("Closing needs at least 3 anchors (or 2 and the pointer).")
    return ScissorsPrompt(anchors, pointer, close, tolerance)


def box_prompt(data: Any, width: int, height: int) -> BoxPrompt:
    """`{"box": [x0, y0, x1, y1], "points": [{"x", "y", "label"}] (0..50), "tolerance": 0..50}`."""
    data = _object(data)
    return BoxPrompt(
        _box(data.get("box"), width, height),
        _labeled_points(data, width, height),
        _ranged(data, "tolerance", 0, MAX_SIMPLIFY_PX, BOX_TOLERANCE),
    )


def wand_prompt(data: Any, width: int, height: int) -> WandPrompt:
    """`{"point": [x, y], "tolerance": 0..255 (colour distance), "simplify": 0..50 (px)}`."""
    data = _object(data)
    return WandPrompt(
        _point(data.get("point"), "point", width, height),
        _ranged(data, "tolerance", 0, MAX_COLOUR_TOLERANCE, WAND_TOLERANCE),
        _ranged(data, "simplify", 0, MAX_SIMPLIFY_PX, WAND_SIMPLIFY),
    )


def model_prompt(data: Any, width: int, height: int) -> ModelPrompt:
    """`{"points": [{"x", "y", "label"}] (0..50), "box": [x0, y0, x1, y1] | null}`, at least one prompt."""
    data = _object(data)
    points = _labeled_points(data, width, height)
    found_box = None if data.get("box") is None else _box(data["box"], width, height)
    if not points and found_box is None:
        raise invalid("The model needs a prompt: at least one point or a box.")
    return ModelPrompt(points, found_box)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "a number" if isinstance(value, int | float) else type(value).__name__
