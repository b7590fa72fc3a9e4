"""Attributes: what a label class asks about each of its shapes ("occluded", "colour", "count"), and the
values a shape carries (DESIGN section 9).

A label class declares its attributes, each of one kind with a default:

- checkbox: true or false;
- select: one of its `options` (strings);
- number: a finite number, within `min` and `max` when they are given;
- text: a string of at most MAX_TEXT characters.

A shape carries only the values someone set (`set_attributes` -> `attributes_set`); an attribute it has
no value for reads as its declared default. So a manager who changes a default changes what the shapes
that never set it read, as in CVAT, and the log keeps only what people chose.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Rejected

CHECKBOX, SELECT, NUMBER, TEXT = "checkbox", "select", "number", "text"
KINDS = (CHECKBOX, SELECT, NUMBER, TEXT)
MAX_ATTRIBUTES = 32  # per label class
MAX_NAME = 64
MAX_OPTIONS = 64
MAX_TEXT = 1000

Value = bool | float | str


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    name: str
    kind: str
    default: Value
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: Any) -> Value:
        """The value as stored, or Rejected("invalid_attribute_value") saying what this attribute takes."""
        match self.kind:
            case "checkbox":
                if isinstance(value, bool):
                    return value
                raise _bad_value(self, "true or false")
            case "select":
                if isinstance(value, str) and value in self.options:
                    return value
                raise _bad_value(self, f"one of {', '.join(map(repr, self.options))}"[:300])
            case "number":
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    raise _bad_value(self, "a number")
                if abs(value) > 2**53:
                    raise _bad_value(self, "a number of at most 2^53")
                if (self.minimum is not None and value < self.minimum) or (
                    self.maximum is not None and value > self.maximum
                ):
                    raise _bad_value(self, f"a number from {_fmt(self.minimum)} to {_fmt(self.maximum)}")
                return float(value) + 0.0  # as coordinates: jsonb drops the sign of -0.0
            case _:
                if isinstance(value, str) and len(value) <= MAX_TEXT and _printable(value):
                    return value
                raise _bad_value(self, f"a text of at most {MAX_TEXT} characters")


def _fmt(bound: float | None) -> str:
    return "any" if bound is None else f"{bound:g}"


def _printable(text: str) -> bool:
    return all(ch.isprintable() or ch in "\n\t" for ch in text)


def _bad_value(spec: AttributeSpec, takes: str) -> Rejected:
    return Rejected("invalid_attribute_value", f"Attribute {spec.name!r} takes {takes}.")


def _invalid(message: str) -> Rejected:
    return Rejected("invalid_attributes", message)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_NAME or not value.isprintable():
        raise _invalid(f"{where} must be a printable name of 1 to {MAX_NAME} characters.")
    return value.strip()


def _bound(raw: dict[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"{where}: {key} must be a number or null.")
    return float(value)


def parse_declarations(data: Any) -> tuple[AttributeSpec, ...]:
    """A label class's declarations from their JSON form (a list of {name, kind, default, options?, min?,
    max?}), or Rejected("invalid_attributes") naming the first thing wrong. A missing default is the kind's
    natural one: false, the first option, the minimum or 0, the empty text."""
    if not isinstance(data, list) or len(data) > MAX_ATTRIBUTES:
        raise _invalid(f"attributes must be a list of at most {MAX_ATTRIBUTES} declarations.")
    specs: list[AttributeSpec] = []
    for i, raw in enumerate(data):
        where = f"attributes[{i}]"
        if not isinstance(raw, dict):
            raise _invalid(f"{where} must be an object of name, kind, default, options, min, max.")
        extra = sorted(set(raw) - {"name", "kind", "default", "options", "min", "max"})
        if extra:
            raise _invalid(f"{where} does not take {', '.join(map(str, extra))[:200]}.")
        name = _name(raw.get("name"), f"{where}.name")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise _invalid(f"{where}.kind must be one of {', '.join(KINDS)}.")
        options: tuple[str, ...] = ()
        if kind == SELECT:
            raw_options = raw.get("options")
            if not isinstance(raw_options, list) or not 1 <= len(raw_options) <= MAX_OPTIONS:
                raise _invalid(f"{where}.options must be a list of 1 to {MAX_OPTIONS} names.")
            options = tuple(_name(o, f"{where}.options[{n}]") for n, o in enumerate(raw_options))
            if len(set(options)) != len(options):
                raise _invalid(f"{where}.options names an option twice.")
        elif "options" in raw:
            raise _invalid(f"{where}: only a select has options.")
        minimum = maximum = None
        if kind == NUMBER:
            minimum, maximum = _bound(raw, "min", where), _bound(raw, "max", where)
            if minimum is not None and maximum is not None and minimum > maximum:
                raise _invalid(f"{where}: min is above max.")
        elif "min" in raw or "max" in raw:
            raise _invalid(f"{where}: only a number has min and max.")
        natural: Value = {CHECKBOX: False, SELECT: options[0] if options else "", TEXT: ""}.get(
            kind, minimum if minimum is not None and minimum > 0 else 0.0
        )
        spec = AttributeSpec(name, kind, natural, options, minimum, maximum)
        if raw.get("default") is not None:
            try:
                spec = AttributeSpec(name, kind, spec.check(raw["default"]), options, minimum, maximum)
            except Rejected as error:
                raise _invalid(f"{where}.default: {error.message}") from None
        specs.append(spec)
    if len({s.name for s in specs}) != len(specs):
        raise _invalid("attributes names an attribute twice.")
    return tuple(specs)


def declarations_json(specs: tuple[AttributeSpec, ...]) -> list[dict[str, Any]]:
    """The JSON form parse_declarations reads (what the API shows and the label class stores)."""
    out = []
    for s in specs:
        row: dict[str, Any] = {"name": s.name, "kind": s.kind, "default": s.default}
        if s.kind == SELECT:
            row["options"] = list(s.options)
        if s.kind == NUMBER:
            row["min"], row["max"] = s.minimum, s.maximum
        out.append(row)
    return out


def parse_values(data: Any) -> tuple[tuple[str, Value | None], ...]:
    """set_attributes' `values` ({name: value or null}): names and JSON scalars, sorted by name; what each
    attribute takes is decide's to check against the shape's label class. Null sets an attribute back to
    its default."""
    if not isinstance(data, dict) or not 1 <= len(data) <= MAX_ATTRIBUTES:
        raise Rejected(
            "invalid_command",
            f"values must be an object of 1 to {MAX_ATTRIBUTES} attribute names and values.",
        )
    out = []
    for name, value in data.items():
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
            raise Rejected("invalid_command", f"values: {str(name)[:60]!r} is not an attribute name.")
        if value is not None and not isinstance(value, bool | int | float | str):
            raise Rejected(
                "invalid_command", f"values.{name[:60]} must be true, false, a number, a text or null."
            )
        out.append((name, value))
    return tuple(sorted(out, key=lambda pair: pair[0]))


def changed_values(
    declared: Mapping[str, AttributeSpec],
    current: tuple[tuple[str, Value], ...],
    values: tuple[tuple[str, Value | None], ...],
    shape_name: str,
) -> tuple[tuple[str, Value | None], ...]:
    """The values of a set_attributes that change the shape, each checked against its label class's
    declarations (`declared`); null sets one back to its default, which a shape without a value reads."""
    now = dict(current)
    changes = []
    for name, value in values:
        spec = declared.get(name)
        if spec is None:
            known = f"it has {', '.join(map(repr, declared))}"[:200] if declared else "it declares none"
            raise Rejected(
                "unknown_attribute", f"{shape_name}'s label class has no attribute {name[:64]!r} ({known})."
            )
        checked = None if value is None else spec.check(value)
        if now.get(name) != checked:
            changes.append((name, checked))
    return tuple(changes)
