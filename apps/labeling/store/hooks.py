"""Read models of the apps above labeling, written in the same transaction as a command's events.

labeling imports none of those apps (tests/unit/test_layering.py): an app registers a writer here in its
AppConfig.ready (apps/review: the quality counters), and `commit` runs the statements each writer gives for
a command beside the events, the item's read model and the job's tallies, all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain import ItemState
from ..domain.events import Event

Statement = tuple[str, list[Any]]


@dataclass(frozen=True, slots=True)
class Appended:
    """One command's events as they are about to be written: `states[i]` is the state before
    `events[i]` and `states[i + 1]` the one after it (so `states[0]` is the state before the command);
    `labeled_by_before` is the item's "labeled by" before it (its last labeled save's actor)."""

    job_id: int
    item_id: int
    actor_id: int
    at: datetime
    first_seq: int
    events: Sequence[Event]
    states: Sequence[ItemState]
    labeled_by_before: int | None


# A writer answers the statements to run for a command; `when` is the SQL condition each must hold to
# write (write._WRITTEN inside the one-statement write, "" otherwise), as rows.tally_statements takes it.
RowWriter = Callable[[Appended, str], list[Statement]]

row_writers: list[RowWriter] = []


def row_writer_register(writer: RowWriter) -> None:
    """Add a writer once (an AppConfig.ready may run more than once in tests)."""
    if writer not in row_writers:
        row_writers.append(writer)


def statements_for(appended: Appended | None, when: str) -> list[Statement]:
    if appended is None:
        return []
    return [statement for writer in row_writers for statement in writer(appended, when)]
