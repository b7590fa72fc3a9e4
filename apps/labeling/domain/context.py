"""What decide needs to know beyond the item and the command: who asks, the job's label classes (and
what they ask about each shape), and the limits of one image."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .attributes import AttributeSpec
from .state import Actor


@dataclass(frozen=True, slots=True)
class Limits:
    max_vertices: int = 1000
    max_shapes: int = 1000  # closed polygons on one image
    max_drafts: int = 20  # polygons one person is drawing at once on one image


@dataclass(frozen=True, slots=True)
class Context:
    """What decide needs to know beyond the item: who asks, and the job's label classes and limits."""

    actor: Actor
    label_class_ids: frozenset[int] = frozenset()
    limits: Limits = field(default_factory=Limits)
    # {label class id: {name: declaration}} of the job's classes that declare attributes (set_attributes)
    attributes: Mapping[int, Mapping[str, AttributeSpec]] = field(default_factory=dict)
