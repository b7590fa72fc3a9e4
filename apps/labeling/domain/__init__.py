"""The pure labeling domain: commands, events, state, decide and evolve. Imports no Django."""

from __future__ import annotations

from .commands import COMMAND_TYPES, Command, command_to_dict, parse_command
from .context import Context, Limits
from .decide import decide
from .errors import Rejected
from .events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    Event,
    event_from_record,
    event_payload,
    event_type,
)
from .evolve import evolve, replay
from .state import ItemState, Shape, initial_state, state_from_dict, state_to_dict, state_view

__all__ = [
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "Command",
    "Context",
    "Event",
    "ItemState",
    "Limits",
    "Rejected",
    "Shape",
    "command_to_dict",
    "decide",
    "event_from_record",
    "event_payload",
    "event_type",
    "evolve",
    "initial_state",
    "parse_command",
    "replay",
    "state_from_dict",
    "state_to_dict",
    "state_view",
]
