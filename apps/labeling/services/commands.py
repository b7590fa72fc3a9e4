"""Commands on an item's labels: `item_command_handle` is the one path by which an item's labels change
(decide, then hand the store one plan to write), and `item_commands_apply` its bulk form for imports."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from apps.common.errors import ApiError

from .. import live, store
from ..domain import Command, Context, ItemState, Limits, Rejected, decide, evolve, replay
from ..domain.commands import (
    AddPolygon,
    ClosePolygon,
    DeleteLabelShapes,
    DiscardChanges,
    PasteShapes,
    Redo,
    RelabelShape,
    SetAttributes,
    Undo,
)
from ..domain.events import Event, Saved
from ..models import StoredEvent
from ..permissions import command_require
from ..readmodels import (
    attribute_counts_change,
    item_tally_keys,
    label_counts,
    live_columns,
    save_columns,
    tally_deltas,
)
from ..store.hooks import Appended, row_writers

log = logging.getLogger(__name__)


# Commands whose decision reads the job's label classes; the others skip that query.
_READS_LABELS = (
    ClosePolygon,
    AddPolygon,
    PasteShapes,
    RelabelShape,
    DeleteLabelShapes,
    Undo,
    Redo,
    DiscardChanges,
)
# The unique constraints that a concurrent append or an already-applied command_id runs into.
_APPEND_COLLISIONS = (
    "event_seq_unique_in_stream",
    "event_command_id_unique_in_stream",
    "labeling_event.item_id",
)
# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back whole, and
# running it again is what PostgreSQL asks of the application (nothing of it was written).
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
_MAX_ATTEMPTS = 5
_OPTIMISTIC_ATTEMPTS = 2  # then under the item's row lock (see item_command_handle)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """A command's answer, and what it broadcasts: the caller sends `broadcasts` once the write is
    committed (live.publish_on_commit from a view; a websocket consumer sends them itself)."""

    seq: int
    events: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False  # True when a retried command_id got its original answer
    broadcasts: tuple[live.ItemEvents, ...] = ()

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "events": self.events}


def limits() -> Limits:
    return Limits(
        max_vertices=settings.POLYLOG["MAX_VERTICES"],
        max_shapes=settings.POLYLOG["MAX_SHAPES"],
        max_drafts=settings.POLYLOG["MAX_DRAFTS"],
    )


def _earlier_result(item_id: int, actor_id: int, command_id: str | None) -> CommandResult | None:
    """The original answer to a command_id already applied on this item, if it was."""
    if command_id is None or not store.command_applied(item_id, command_id):
        return None
    row = StoredEvent.objects.filter(item_id=item_id, command_id=command_id).first()
    if row is None:
        return None
    if row.actor_id != actor_id:
        raise Rejected(
            "command_id_reused", f"Command id {command_id[:64]!r} was already used by someone else."
        )
    return CommandResult(seq=row.seq, events=[store.event_dict(row)], replayed=True)


class _Overtaken(Exception):
    """The item moved on (another command was appended, or it was deleted) between reading its head and
    writing: nothing was written, and the command is decided again against the new head."""


def item_command_handle(
    *,
    item_id: int,
    actor_id: int,
    command: Command,
    command_id: str | None = None,
    expected_seq: int | None = None,
) -> CommandResult:
    """Decide `command` against the item's current state, append its events, update the read models.

    A command_id seen before on this item gets its original answer and is not applied again.
    The actor's role in the item's job must allow the command, as stored now (`command_authorise`, read
    with the item's head): REST and websocket commands are authorised here, at every command.
    Raises Rejected (nothing appended), ApiError(404) for an item that is not there or not the actor's to
    see, ApiError(403) for a role that may not label.

    The first two attempts are optimistic: each reads the head without a lock, decides, and writes with a
    compare-and-set on the item's last_seq (`store.commit`); on PostgreSQL most commands are
    then two statements and no transaction. A writer overtaken twice (other commands came first) decides
    again under the item's row lock, where nobody can overtake it: under contention it waits its turn
    instead of losing again.
    A write the database rolled back as a deadlock's victim (two commands on different items both
    update the job's shared rows: its tallies, a person's quality counters) is decided again as well.
    """
    for attempt in range(_MAX_ATTEMPTS):
        lock = attempt >= _OPTIMISTIC_ATTEMPTS
        try:
            with transaction.atomic() if lock else contextlib.nullcontext():
                return _handle_once(item_id, actor_id, command, command_id, expected_seq, lock)
        except _Overtaken:
            log.debug("item %s: overtaken by another write, deciding again", item_id)
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) not in _TRANSIENT_SQLSTATES:
                raise
            log.warning("item %s: %s, deciding again", item_id, str(error).splitlines()[0])
        except IntegrityError as error:
            # Someone appended the same seq first, or this command_id was already applied; any other
            # integrity error is a bug, not contention, and must not be retried or called "busy".
            if not any(name in str(error) for name in _APPEND_COLLISIONS):
                raise
            earlier = _earlier_result(item_id, actor_id, command_id)
            if earlier is not None:
                return earlier
            log.info("item %s: concurrent append, retrying", item_id)
    raise ApiError(503, "busy", "The image is too busy right now; send the command again.")


def _handle_once(
    item_id: int,
    actor_id: int,
    command: Command,
    command_id: str | None,
    expected_seq: int | None,
    lock: bool,
) -> CommandResult:
    head = store.item_head_read(item_id, member_id=actor_id, command_id=command_id, lock=lock)
    command_authorise(item_id, head, command)
    # A retry gets the original answer whatever deciding it again would now say (a refusal, a no-op, a
    # second application). A twin that commits after the head was read moves last_seq, so this write is
    # overtaken and the next attempt sees it; or it fails the (item, command_id) constraint (see
    # item_command_handle); or it is found below before anything but an append is answered.
    if head.applied:
        return _answered(_earlier_result(item_id, actor_id, command_id))
    try:
        if head.deleted:
            raise Rejected(
                "item_deleted", "This image was deleted from its job; its history can still be read."
            )
        if expected_seq is not None and expected_seq != head.last_seq:
            raise Rejected(
                "seq_conflict",
                f"The image is at seq {head.last_seq}, not {expected_seq}; reload and retry.",
            )
        state, prev_hash = store.state_current(item_id, head)
        label_ids: frozenset[int] = frozenset()
        if isinstance(command, _READS_LABELS):
            label_ids = store.job_label_class_ids(head.job_id)
        attributes = store.job_attribute_specs(head.job_id) if isinstance(command, SetAttributes) else {}
        context = Context(actor=actor_id, label_class_ids=label_ids, limits=limits(), attributes=attributes)
        events = decide(state, command, context)
    except Rejected:
        earlier = _earlier_result(item_id, actor_id, command_id)
        if earlier is not None:
            return earlier
        raise
    if not events:
        return _earlier_result(item_id, actor_id, command_id) or CommandResult(seq=state.seq)

    # Under the lock, the write is part of this attempt's transaction, which rolls back as a whole.
    new_state = replay(state, events)
    return _commit(head, state, prev_hash, events, actor_id, command_id, new_state, savepoint=not lock)


def command_authorise(item_id: int, head: store.ItemHead | None, command: Command) -> None:
    """The one authorisation of a command, REST or websocket: the item is there and the actor's role in its
    job may send the command (permissions.command_require: shape commands annotator or manager, review and
    issue commands per role; staff manage every job, an inactive user has no role). Anyone who is not a
    member is told the item does not exist, as permissions.item_for tells it, so ids leak nothing."""
    command_require(None if head is None else head.role, command, f"item {item_id}")


def _answered(result: CommandResult | None) -> CommandResult:
    assert result is not None  # applied, and seen under the lock: it can't have gone
    return result


def _commit(
    head: store.ItemHead,
    state: ItemState,
    prev_hash: str,
    events: list[Event],
    actor_id: int,
    command_id: str | None,
    new_state: ItemState | None = None,
    *,
    savepoint: bool = True,
) -> CommandResult:
    """Append decided events after `state` and bring every projection along: snapshots, the item's read
    model, its label rows, the job's tallies; broadcast after commit. Raises _Overtaken (nothing written)
    if the item is no longer at head.last_seq, or was deleted.

    The write is one transaction, or part of the caller's: inside one, `savepoint` (the default) lets the
    caller go on after a database error, as item_command_handle's retries do; a bulk writer that fails as
    a whole on one passes False and saves the SAVEPOINT's round trips.
    `new_state`, when the caller has it, is the state after the events (saves replaying them again)."""
    item_id = head.item_id
    now = timezone.now()
    rows = store.rows_for(
        item_id, state.seq + 1, events, prev_hash=prev_hash, created_at=now, command_id=command_id
    )
    every = store.snapshot_every()
    snapshots: list[ItemState] = []
    saving = any(isinstance(e, Saved) for e in events)
    if new_state is None or new_state.seq // every != state.seq // every or saving:
        # Snapshots fall on multiples of `every` and on saves (store.snapshot_due): walk the events to
        # the states they need.
        walked = state
        for event in events:
            before, walked = walked, evolve(walked, event)
            if store.snapshot_due(before, walked, isinstance(event, Saved)):
                snapshots.append(walked)
        new_state = walked

    old_counts, counts = label_counts(state), label_counts(new_state)
    # Attribute rows (ItemAttribute) change only with a value set, or with a shape that has values.
    attributes_before, attributes_after = attribute_counts_change(state, new_state)
    slots = store.label_slots(head.job_id, counts)
    columns = {**live_columns(new_state, counts, slots), "updated_at": now}
    if any(isinstance(e, Saved) for e in events):
        columns.update(save_columns(new_state, actor_id, now))
    before = item_tally_keys(
        status=head.status,
        hard_example=head.hard_example,
        labeled_by_id=head.labeled_by_id,
        labels=old_counts,
        review_status=state.review.status,
    )
    after = item_tally_keys(
        status=columns.get("status", head.status),
        hard_example=new_state.hard_example,
        labeled_by_id=columns.get("labeled_by_id", head.labeled_by_id),
        labels=counts,
        review_status=new_state.review.status,
    )
    deltas = tally_deltas(before, after)
    plan = store.CommitPlan(
        item_id=item_id,
        job_id=head.job_id,
        after_seq=head.last_seq,
        rows=rows,
        snapshots=snapshots,
        columns=columns,
        labels_before=old_counts,
        labels_after=counts,
        tallies=deltas,
        attributes_before=attributes_before,
        attributes_after=attributes_after,
        appended=_appended(head, state, new_state, events, actor_id, now),
    )
    written = store.commit(plan, savepoint=savepoint)
    if not written:
        raise _Overtaken

    wire = [store.event_dict(row) for row in rows]
    final = store.Cached(new_state.seq, new_state, rows[-1].hash)
    job_id = head.job_id
    item_wire = {
        "id": item_id,
        "seq": new_state.seq,
        **{
            k: v
            for k, v in columns.items()
            if k not in ("updated_at", "labeled_at", "last_seq", "labeled_by_id", "label_bits")
        },
    }
    if "labeled_by_id" in columns:  # the names of the REST item list
        item_wire["labeled_by"] = columns["labeled_by_id"]
        item_wire["labeled_at"] = store.iso(now) if columns["labeled_by_id"] else None

    review_changed = state.review.status != new_state.review.status
    counts_changed = "status" in columns or set(old_counts) != set(counts) or review_changed
    # What a job page shows of the item: its tile's badges, and the closed shapes its thumbnail overlay
    # draws. A draft's vertex changes none of it.
    summary_changed = (
        counts_changed
        or old_counts != counts
        or state.hard_example != new_state.hard_example
        or state.saved_seq != new_state.saved_seq
        or state.issues is not new_state.issues  # the tile's open-issues badge
        or _outlines_changed(state, new_state)
    )

    transaction.on_commit(lambda: store.state_cache.put(item_id, final), robust=True)
    broadcast = live.ItemEvents(item_id, job_id, wire, item_wire, summary_changed, counts_changed)
    return CommandResult(seq=new_state.seq, events=wire, broadcasts=(broadcast,))


def _appended(
    head: store.ItemHead,
    state: ItemState,
    new_state: ItemState,
    events: list[Event],
    actor_id: int,
    now: datetime,
) -> Appended | None:
    """What the row writers of the apps above labeling read (store/hooks.py), or None without any: the
    state before and after each event (a batch's are walked again; a single command's are at hand)."""
    if not row_writers:
        return None
    states = [state, new_state]
    if len(events) > 1:
        states = [state]
        for event in events:
            states.append(evolve(states[-1], event))
    return Appended(
        job_id=head.job_id,
        item_id=head.item_id,
        actor_id=actor_id,
        at=now,
        first_seq=state.seq + 1,
        events=tuple(events),
        states=tuple(states),
        labeled_by_before=head.labeled_by_id,
    )


def _outlines_changed(before: ItemState, after: ItemState) -> bool:
    """Whether a closed shape came, went or changed: states share the Shape objects a command left alone,
    so identity tells, in one pass over the shapes."""
    if before.shapes is after.shapes:
        return False
    old = [shape for shape in before.shapes.values() if shape.closed]
    new = [shape for shape in after.shapes.values() if shape.closed]
    return len(old) != len(new) or any(a is not b for a, b in zip(old, new, strict=True))


@dataclass(frozen=True, slots=True)
class BatchResult:
    seq: int
    applied: int
    refused: list[tuple[int, Rejected]]  # (index of the unit, why)
    broadcasts: tuple[live.ItemEvents, ...] = ()  # for the caller to send after commit


@transaction.atomic(savepoint=False)
def item_commands_apply(
    *, item_id: int, actor_id: int, units: list[list[Command]], label_class_ids: frozenset[int] | None = None
) -> BatchResult:
    """Apply many commands to one item in one transaction, as bulk writers (a labeled import) need.

    Each unit is all or nothing: the commands of a unit are decided in turn against the state the earlier
    units left, and if one is refused none of its unit's events are kept (the refusal is reported with the
    unit's index) while the other units go on. Events are the same as those the commands would make one by
    one; they carry no command_id. Inside a caller's transaction it takes no savepoint (a bulk writer's
    batch fails as a whole on a database error); `label_class_ids` saves reading the job's classes again.
    """
    head = store.item_head_lock(item_id)
    if head is None:
        raise ApiError(404, "not_found", f"There is no item {item_id}.")
    if head.deleted:
        raise Rejected("item_deleted", "This image was deleted from its job; its history can still be read.")
    state, prev_hash = store.state_current(item_id, head)
    if label_class_ids is None:
        label_class_ids = store.job_label_class_ids(head.job_id)
    setting = any(isinstance(command, SetAttributes) for unit in units for command in unit)
    attributes = store.job_attribute_specs(head.job_id) if setting else {}
    context = Context(actor=actor_id, label_class_ids=label_class_ids, limits=limits(), attributes=attributes)
    events: list[Event] = []
    refused: list[tuple[int, Rejected]] = []
    current, applied = state, 0
    for index, unit in enumerate(units):
        try:
            unit_events: list[Event] = []
            after = current
            for command in unit:
                decided = decide(after, command, context)
                after = replay(after, decided)
                unit_events += decided
        except Rejected as error:
            refused.append((index, error))
            continue
        current, applied = after, applied + 1
        events += unit_events
    if not events:
        return BatchResult(seq=state.seq, applied=applied, refused=refused)
    result = _commit(head, state, prev_hash, events, actor_id, None, current, savepoint=False)
    return BatchResult(seq=result.seq, applied=applied, refused=refused, broadcasts=result.broadcasts)
