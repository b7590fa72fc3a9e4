"""The event store: append with hash chaining, load a stream's state (snapshot + tail), verify chains.

Rows are only ever inserted here; nothing in polylog updates or deletes an Event.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from .domain import (
    SCHEMA_VERSION,
    Event,
    ItemState,
    event_from_record,
    event_payload,
    event_type,
    evolve,
    initial_state,
    state_from_dict,
    state_to_dict,
)
from .models import Event as EventRow
from .models import Item, JobMember, Role, Snapshot

GENESIS_HASH = "0" * 64


def snapshot_every() -> int:
    return settings.POLYLOG["SNAPSHOT_EVERY"]


def event_hash(
    prev_hash: str,
    *,
    item_id: int,
    seq: int,
    type: str,
    schema_version: int,
    payload: Any,
    actor_id: int,
    created_at: datetime,
    command_id: str | None,
) -> str:
    """sha256 over the previous hash and the event's canonical JSON (docs/events.md spells it out)."""
    body = json.dumps(
        [item_id, seq, type, schema_version, payload, actor_id, iso(created_at), command_id],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def row_hash(row: EventRow | NewEvent, prev_hash: str) -> str:
    return event_hash(
        prev_hash,
        item_id=row.item_id,
        seq=row.seq,
        type=row.type,
        schema_version=row.schema_version,
        payload=row.payload,
        actor_id=row.actor_id,
        created_at=row.created_at,
        command_id=row.command_id,
    )


def row_event(row: EventRow) -> Event:
    return event_from_record(row.type, row.schema_version, row.payload, row.actor_id)


def event_dict(row: EventRow | NewEvent, actor_name: str | None = None) -> dict[str, Any]:
    """An event as the wire carries it (DESIGN section 8)."""
    out = {
        "seq": row.seq,
        "type": row.type,
        "payload": row.payload,
        "actor": row.actor_id,
        "created_at": iso(row.created_at),
    }
    if actor_name is not None:
        out["actor_name"] = actor_name
    return out


@dataclass(slots=True)
class NewEvent:
    """An event row about to be appended, with the stored row's fields. A plain object: building a model
    instance (and its init signals) cost more per command than the INSERT that writes it."""

    item_id: int
    seq: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    actor_id: int
    created_at: datetime
    command_id: str | None
    hash: str = ""

    def model(self) -> EventRow:
        """The unsaved model instance, for bulk_create."""
        return EventRow(**{name: getattr(self, name) for name in self.__slots__})


def rows_for(
    item_id: int,
    first_seq: int,
    events: Sequence[Event],
    *,
    prev_hash: str,
    created_at: datetime,
    command_id: str | None,
) -> list[NewEvent]:
    """Rows for events that will take seqs first_seq, first_seq + 1, ..."""
    rows = []
    for offset, event in enumerate(events):
        row = NewEvent(
            item_id=item_id,
            seq=first_seq + offset,
            type=event_type(event),
            schema_version=SCHEMA_VERSION,
            payload=event_payload(event),
            actor_id=event.actor,
            created_at=created_at,
            # One command gives at most one event today; only the first carries the id, so the
            # uniqueness of (item, command_id) keeps a retried command from being applied twice.
            command_id=command_id if offset == 0 else None,
        )
        row.hash = prev_hash = row_hash(row, prev_hash)
        rows.append(row)
    return rows


def snapshot_save(item_id: int, state: ItemState) -> None:
    Snapshot.objects.create(item_id=item_id, seq=state.seq, state=state_to_dict(state))


def _decoded(value: Any) -> Any:
    # SQLite hands JSON columns over as text; psycopg may hand them over decoded.
    return json.loads(value) if isinstance(value, str | bytes) else value


def _snapshot_at(item_id: int, at_seq: int | None) -> dict[str, Any] | None:
    upto = "" if at_seq is None else " AND seq <= %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT state FROM {Snapshot._meta.db_table} WHERE item_id = %s{upto} ORDER BY seq DESC LIMIT 1",
            [item_id] if at_seq is None else [item_id, at_seq],
        )
        found = cursor.fetchone()
    return None if found is None else _decoded(found[0])


def _rows_from(item_id: int, first_seq: int, upto_seq: int | None) -> list[tuple[Any, ...]]:
    """(seq, type, schema_version, payload, actor_id, hash) of events first_seq.. in order."""
    upto = "" if upto_seq is None else " AND seq <= %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, type, schema_version, payload, actor_id, hash FROM {EventRow._meta.db_table} "
            f"WHERE item_id = %s AND seq >= %s{upto} ORDER BY seq",
            [item_id, first_seq] if upto_seq is None else [item_id, first_seq, upto_seq],
        )
        return cursor.fetchall()


def item_last_seq(item_id: int) -> int | None:
    """The item's last seq as its row says (None for no such item): the sockets' lag check, every second."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_seq FROM {Item._meta.db_table} WHERE id = %s", [item_id])
        found = cursor.fetchone()
    return None if found is None else found[0]


def events_after(item_id: int, after: int, limit: int, upto: int | None = None) -> list[dict[str, Any]]:
    """The wire form of the item's events after seq `after` (up to `upto`), at most `limit`: the socket's
    catch-up, which runs whenever broadcasts from two processes arrive out of order, so plain rows."""
    bound = "" if upto is None else " AND seq <= %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, type, payload, actor_id, created_at FROM {EventRow._meta.db_table} "
            f"WHERE item_id = %s AND seq > %s{bound} ORDER BY seq LIMIT %s",
            [item_id, after, limit] if upto is None else [item_id, after, upto, limit],
        )
        rows = cursor.fetchall()
    return [
        {
            "seq": seq,
            "type": type_,
            "payload": _decoded(payload),
            "actor": actor,
            "created_at": iso(_aware(at)),
        }
        for seq, type_, payload, actor, at in rows
    ]


def _aware(moment: datetime | str) -> datetime:
    """A timestamp column as the ORM would give it: SQLite hands back text or a naive UTC datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fold(state: ItemState, rows: list[tuple[Any, ...]], last: str) -> tuple[ItemState, str]:
    for seq, type_, version, payload, actor, hash_ in rows:
        if seq > state.seq:  # the first row may be the event the state already stands at
            state = evolve(state, event_from_record(type_, version, _decoded(payload), actor))
        last = hash_
    return state, last


def state_load_with_hash(
    item_id: int, width: float, height: float, at_seq: int | None = None
) -> tuple[ItemState, str]:
    """The state at `at_seq` (default: the stream's end), from the nearest snapshot at or before it and
    the tail of events after it, with the hash of the event it stands at. This is the cold path of every
    command, so it reads plain rows in two statements."""
    raw = _snapshot_at(item_id, at_seq)
    state = initial_state(width, height) if raw is None else state_from_dict(raw)
    # Reading from the snapshot's own event on gives its hash when the tail is empty.
    return _fold(state, _rows_from(item_id, max(state.seq, 1), at_seq), GENESIS_HASH)


def state_load(item_id: int, width: float, height: float, at_seq: int | None = None) -> ItemState:
    return state_load_with_hash(item_id, width, height, at_seq)[0]


def state_advance(item_id: int, state: ItemState, upto_seq: int) -> ItemState:
    """`state` brought forward to `upto_seq` with the stored events after it (cheap when they are few)."""
    if upto_seq <= state.seq:
        return state
    return _fold(state, _rows_from(item_id, state.seq + 1, upto_seq), GENESIS_HASH)[0]


def states_before(
    item_id: int, width: float, height: float, seqs: Sequence[int], span: int = 2000
) -> list[ItemState]:
    """The state just before each of `seqs` (ascending): what the event at that seq applied to. Seqs
    within `span` of each other are walked in one read from the state before the first; seqs further
    apart cost the nearest snapshot plus at most K events each."""
    out: list[ItemState] = []
    state: ItemState | None = None
    start = 0
    while start < len(seqs):
        end = start
        while end + 1 < len(seqs) and seqs[end + 1] - seqs[start] <= span:
            end += 1
        first, last = seqs[start], seqs[end]
        if state is None or not state.seq <= first - 1 <= state.seq + snapshot_every():
            state = state_load(item_id, width, height, first - 1)
        else:
            state = state_advance(item_id, state, first - 1)
        rows = iter(_rows_from(item_id, first, last - 1) if last > first else ())
        for seq in seqs[start : end + 1]:
            while state.seq < seq - 1:
                number, type_, version, payload, actor, _ = next(rows, (None,) * 6)
                if number != state.seq + 1:
                    raise ValueError(f"item {item_id}: event {state.seq + 1} is missing")
                state = evolve(state, event_from_record(type_, version, _decoded(payload), actor))
            out.append(state)
        start = end + 1
    return out


def states_load_many(heads: Sequence[tuple[int, float, float, int]]) -> dict[int, ItemState]:
    """The states of many items at their `last_seq`, for bulk readers (exports): [(item_id, width, height,
    last_seq)] -> {item_id: state}. The process cache answers where it is current; for the rest, the
    latest snapshots of all of them come in one statement and their tails of events in one more."""
    states: dict[int, ItemState] = {}
    missing: dict[int, tuple[float, float, int]] = {}
    for item_id, width, height, last_seq in heads:
        cached = state_cache.get(item_id, last_seq)
        if cached is not None:
            states[item_id] = cached.state
        else:
            missing[item_id] = (width, height, last_seq)
    if not missing:
        return states
    ids = list(missing)
    marks = ", ".join(["%s"] * len(ids))
    snapshots = Snapshot._meta.db_table
    start: dict[int, ItemState] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.item_id, s.state FROM {snapshots} s JOIN (SELECT item_id, MAX(seq) AS seq "
            f"FROM {snapshots} WHERE item_id IN ({marks}) GROUP BY item_id) m "
            "ON m.item_id = s.item_id AND m.seq = s.seq",
            ids,
        )
        for item_id, raw in cursor.fetchall():
            snapshot = state_from_dict(_decoded(raw))
            if snapshot.seq <= missing[item_id][2]:  # a snapshot past last_seq would be a torn read
                start[item_id] = snapshot
    for item_id, (width, height, _) in missing.items():
        states[item_id] = start.get(item_id) or initial_state(width, height)
    # Events after each item's starting point (seq > its snapshot's seq), in one pass.
    floor = min(state.seq for item_id, state in states.items() if item_id in missing)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT item_id, seq, type, schema_version, payload, actor_id FROM {EventRow._meta.db_table} "
            f"WHERE item_id IN ({marks}) AND seq > %s ORDER BY item_id, seq",
            [*ids, floor],
        )
        for item_id, seq, type_, version, payload, actor in cursor.fetchall():
            state = states[item_id]
            if state.seq < seq <= missing[item_id][2]:
                states[item_id] = evolve(state, event_from_record(type_, version, _decoded(payload), actor))
    return states


@dataclass(frozen=True, slots=True)
class Cached:
    seq: int
    state: ItemState
    last_hash: str


class StateCache:
    """Process-local cache of each item's latest state, trusted only when its seq matches the database's.

    That check (under the item's row lock) makes it safe with several server processes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[int, Cached] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, item_id: int) -> Cached | None:
        with self._lock:
            return self._data.get(item_id)

    def get(self, item_id: int, seq: int) -> Cached | None:
        with self._lock:
            cached = self._data.get(item_id)
            if cached is None or cached.seq != seq:
                return None
            self._data.move_to_end(item_id)
            return cached

    def put(self, item_id: int, cached: Cached) -> None:
        with self._lock:
            self._data[item_id] = cached
            self._data.move_to_end(item_id)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


state_cache = StateCache(settings.POLYLOG["STATE_CACHE_SIZE"])


def state_current(item_id: int, head: ItemHead) -> tuple[ItemState, str]:
    """The item's state at head.last_seq and the hash of its last event, as cheaply as possible:
    the cached state; or the cached state plus the few events another process appended since; or the
    nearest snapshot plus the tail."""
    if head.last_seq == 0:  # an empty stream: nothing to read
        return initial_state(head.width, head.height), GENESIS_HASH
    cached = state_cache.peek(item_id)
    if cached is not None and cached.seq == head.last_seq:
        return cached.state, cached.last_hash
    if cached is not None and cached.seq < head.last_seq <= cached.seq + snapshot_every():
        rows = [row for row in head.tail if row[0] <= head.last_seq] if head.tail_after == cached.seq else []
        state, last = _fold(cached.state, rows, cached.last_hash)
        if state.seq < head.last_seq:  # no tail came with the head, or it ended short
            state, last = _fold(state, _rows_from(item_id, state.seq + 1, head.last_seq), last)
        if state.seq == head.last_seq:
            return state, last
    return state_load_with_hash(item_id, head.width, head.height)


# Reading whole streams (audit, export, verification) ------------------------------------------------

# The columns of a stored event in the order the log export and the chain check read them.
LOG_COLUMNS = (
    "item_id",
    "seq",
    "type",
    "schema_version",
    "payload",
    "actor_id",
    "created_at",
    "command_id",
    "hash",
)
LogRow = tuple[int, int, str, int, Any, int, datetime, str | None, str]
_BATCH_ROWS = 5000
_BATCH_ITEMS = 500


def _stream_rows(item_id: int, batch: int) -> Iterator[LogRow]:
    """One stream's rows in seq order, read `batch` at a time (keyset on seq, so no long-lived cursor)."""
    after = 0
    while True:
        rows = list(
            EventRow.objects.filter(item_id=item_id, seq__gt=after)
            .order_by("seq")
            .values_list(*LOG_COLUMNS)[:batch]
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1][1]


def _group_rows(item_ids: list[int]) -> list[LogRow]:
    if not item_ids:
        return []
    return list(
        EventRow.objects.filter(item_id__in=item_ids).order_by("item_id", "seq").values_list(*LOG_COLUMNS)
    )


def log_rows(heads: Iterable[tuple[int, int | None]], batch: int = _BATCH_ROWS) -> Iterator[LogRow]:
    """The stored rows (LOG_COLUMNS) of the streams of `heads` [(item_id, last_seq)], in (item_id, seq)
    order, `heads` sorted by item id. Short streams are read a group at a time (about `batch` rows by
    their last_seq), long ones and those of unknown length (None) alone in slices, so memory stays
    bounded and each read uses the (item, seq) index."""
    group: list[int] = []
    planned = 0
    for item_id, last_seq in heads:
        if last_seq is None or last_seq >= batch:
            yield from _group_rows(group)
            group, planned = [], 0
            yield from _stream_rows(item_id, batch)
            continue
        group.append(item_id)
        planned += last_seq
        if planned >= batch or len(group) >= _BATCH_ITEMS:
            yield from _group_rows(group)
            group, planned = [], 0
    yield from _group_rows(group)


@dataclass(slots=True)
class ChainReport:
    """What verifying some streams found: how many streams and events were read, and every problem
    as {"item_id", "seq", "problem"}, in (item_id, seq) order."""

    items: int = 0
    events: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def chains_verify(heads: Sequence[tuple[int, int | None]], batch: int = _BATCH_ROWS) -> ChainReport:
    """Recompute the hash chains of the streams of `heads` [(item_id, last_seq or None)], sorted by item
    id. Each problem names its item and seq: an event whose hash no longer matches its columns or its
    predecessor (altered), a seq out of line (a gap: events deleted or renumbered), and, where
    last_seq is given (the item's own count, written in the transaction of every append), events missing
    at the end, which no link of the chain can show."""
    report = ChainReport(items=len(heads))
    last_seqs = dict(heads)
    current: int | None = None
    prev, expected = GENESIS_HASH, 1
    seen: set[int] = set()

    def close(item_id: int, expected_seq: int) -> None:
        last_seq = last_seqs.get(item_id)
        if last_seq is not None and expected_seq - 1 < last_seq:
            report.problems.append(
                {
                    "item_id": item_id,
                    "seq": expected_seq,
                    "problem": f"missing: the item is at seq {last_seq}",
                }
            )

    rows = log_rows(heads, batch)
    for item_id, seq, type_, version, payload, actor_id, created_at, command_id, hash_ in rows:
        if item_id != current:
            if current is not None:
                close(current, expected)
            current, prev, expected = item_id, GENESIS_HASH, 1
            seen.add(item_id)
        report.events += 1
        if seq != expected:
            report.problems.append(
                {"item_id": item_id, "seq": seq, "problem": f"gap: expected seq {expected}"}
            )
        computed = event_hash(
            prev,
            item_id=item_id,
            seq=seq,
            type=type_,
            schema_version=version,
            payload=payload,
            actor_id=actor_id,
            created_at=created_at,
            command_id=command_id,
        )
        if computed != hash_:
            report.problems.append(
                {"item_id": item_id, "seq": seq, "problem": "hash mismatch: the event was altered"}
            )
        prev, expected = hash_, seq + 1
    if current is not None:
        close(current, expected)
    for item_id, _ in heads:
        if item_id not in seen:
            close(item_id, 1)
    report.problems.sort(key=lambda p: (p["item_id"], p["seq"]))
    return report


def chain_verify(item_id: int, last_seq: int | None = None) -> list[dict[str, Any]]:
    """Recompute an item's hash chain; every problem names its seq. `last_seq` (the item's own count)
    also catches events missing at the end of the stream, which no chain link can show."""
    return chains_verify([(item_id, last_seq)]).problems


# The command hot path: a handful of fixed statements, written out because compiling them through the
# ORM cost more than running them (see docs/performance.md).


@dataclass(frozen=True, slots=True)
class ItemHead:
    item_id: int
    job_id: int
    last_seq: int
    width: int
    height: int
    deleted: bool
    status: str
    role: str | None = None  # the role of the user the read was asked about (`member_id`), if a member
    applied: bool = False  # whether the command_id the read was asked about was applied before it
    # The events after `tail_after` (the seq of this process's cached state, when it had one), as
    # `_rows_from` gives them: what another process appended since this one last wrote the item.
    tail_after: int | None = None
    tail: Sequence[tuple[Any, ...]] = ()


@functools.cache
def _tables() -> tuple[str, str, str, str]:
    """The tables of the command path's plain statements (asked at every command: computed once)."""
    from apps.datasets.models import Image

    from .models import LabelClass

    return Item._meta.db_table, Image._meta.db_table, EventRow._meta.db_table, LabelClass._meta.db_table


@functools.cache
def _users_table() -> str:
    from django.contrib.auth import get_user_model

    return get_user_model()._meta.db_table


def _json_param(db: BaseDatabaseWrapper) -> str:
    return "%s::jsonb" if db.vendor == "postgresql" else "%s"


def item_head_read(
    item_id: int, member_id: int | None = None, command_id: str | None = None, *, lock: bool = False
) -> ItemHead | None:
    """Read the item's head in one statement, and in it, so that a command costs no round trips for them:
    with `member_id`, that user's role in the item's job (`ItemHead.role`); with `command_id`, whether it
    was applied (`ItemHead.applied`).

    Commands read it without a lock and write with a compare-and-set on last_seq (`append_and_update`).
    With `lock`, the row is locked (PostgreSQL), or SQLite's IMMEDIATE transaction holds the write lock:
    bulk writers that decide many commands in one transaction read it so.

    On PostgreSQL, when this process has a cached state of the item, the same statement also brings the
    events appended after it (`ItemHead.tail`, at most a snapshot interval of them), which `state_current`
    folds onto it: with several server processes writing one item, that saves a round trip per command."""
    items, images, events, _ = _tables()
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy looks it up again
    locking = " FOR UPDATE OF i" if lock and db.features.has_select_for_update_of else ""
    role = applied = tail = "NULL"
    params: list[Any] = []
    cached = state_cache.peek(item_id) if db.vendor == "postgresql" else None
    if cached is not None:
        # The subquery's snapshot is the statement's: after waiting for the lock it may end short of the
        # row's last_seq, and state_current reads the rest.
        tail = (
            "(SELECT json_agg(json_build_array(t.seq, t.type, t.schema_version, t.payload, t.actor_id, t.hash)"
            f" ORDER BY t.seq) FROM (SELECT * FROM {events} e WHERE e.item_id = i.id AND e.seq > %s"
            f" ORDER BY e.seq LIMIT {int(snapshot_every())}) t)"
        )
        params.append(cached.seq)
    if member_id is not None:
        # As permissions.job_role_now: staff manage every job, an inactive user has no role.
        role = (
            f"(SELECT CASE WHEN u.is_staff THEN '{Role.MANAGER}' ELSE m.role END FROM {_users_table()} u"
            f" LEFT JOIN {JobMember._meta.db_table} m ON m.user_id = u.id AND m.job_id = i.job_id"
            " WHERE u.id = %s AND u.is_active)"
        )
        params.append(member_id)
    if command_id is not None:
        applied = f"(SELECT 1 FROM {events} e WHERE e.item_id = i.id AND e.command_id = %s)"
        params.append(command_id)
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT i.job_id, i.last_seq, im.width, im.height, i.deleted_at IS NOT NULL, i.status, {tail}, "
            f"{role}, {applied} FROM {items} i JOIN {images} im ON im.id = i.image_id WHERE i.id = %s{locking}",
            [*params, item_id],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    job_id, last_seq, width, height, deleted, status, tail_rows, role_found, applied_found = found
    return ItemHead(
        item_id,
        job_id,
        last_seq,
        width,
        height,
        bool(deleted),
        status,
        role_found,
        applied_found is not None,
        tail_after=None if cached is None else cached.seq,
        tail=tail_rows or (),
    )


def item_head_lock(item_id: int) -> ItemHead | None:
    """The item's head under its row lock, for the rest of the caller's transaction."""
    return item_head_read(item_id, lock=True)


def command_applied(item_id: int, command_id: str) -> bool:
    """Whether the command_id was applied on the item (now, not as of an earlier `item_head_read`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {EventRow._meta.db_table} WHERE item_id = %s AND command_id = %s",
            [item_id, command_id],
        )
        return cursor.fetchone() is not None


def job_label_class_ids(job_id: int) -> frozenset[int]:
    _, _, _, labels = _tables()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {labels} WHERE job_id = %s", [job_id])
        return frozenset(row[0] for row in cursor.fetchall())


# Label slots never change once given, so a job's map is only re-read when it lacks a class.
_label_slots: dict[int, dict[int, int | None]] = {}


def label_slots(job_id: int, needed: Iterable[int] = ()) -> dict[int, int | None]:
    """{label class id: slot, or None past 63 classes} of the job's classes (see LabelClass.slot)."""
    known = _label_slots.get(job_id)
    if known is None or any(label not in known for label in needed):
        _, _, _, labels = _tables()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, slot FROM {labels} WHERE job_id = %s", [job_id])
            known = dict(cursor.fetchall())
        _label_slots[job_id] = known
    return known


def _insert_statement(
    db: BaseDatabaseWrapper, rows: list[NewEvent], select_from: str = ""
) -> tuple[str, list[list[Any]]]:
    """The events' INSERT; with `select_from`, one row per row of that table (an INSERT ... SELECT)."""
    _, _, events, _ = _tables()
    ops = db.ops
    values = f"%s, %s, %s, %s, {_json_param(db)}, %s, %s, %s, %s"
    sql = (
        f"INSERT INTO {events} (item_id, seq, type, schema_version, payload, actor_id, created_at, command_id, hash) "
        + (f"SELECT {values} FROM {select_from}" if select_from else f"VALUES ({values})")
    )
    params = [
        [
            r.item_id,
            r.seq,
            r.type,
            r.schema_version,
            json.dumps(r.payload, separators=(",", ":"), allow_nan=False),
            r.actor_id,
            ops.adapt_datetimefield_value(r.created_at),
            r.command_id,
            r.hash,
        ]
        for r in rows
    ]
    return sql, params


def _update_statement(
    db: BaseDatabaseWrapper, item_id: int, after_seq: int, columns: dict[str, Any]
) -> tuple[str, list[Any]]:
    """The item's read-model UPDATE, as a compare-and-set: it changes the row only while the item is
    still at `after_seq` and not deleted."""
    items, _, _, _ = _tables()
    ops = db.ops
    assignments, params = [], []
    for name, value in columns.items():
        if name == "label_class_ids":
            assignments.append(f"{name} = {_json_param(db)}")
            value = json.dumps(value)
        else:
            assignments.append(f"{name} = %s")
            if isinstance(value, datetime):
                value = ops.adapt_datetimefield_value(value)
        params.append(value)
    sql = (
        f"UPDATE {items} SET {', '.join(assignments)} WHERE id = %s AND last_seq = %s AND deleted_at IS NULL"
    )
    return sql, [*params, item_id, after_seq]


# The guard of the statements that ride on a command's write (`append_and_update`'s `then`).
WRITTEN = "EXISTS (SELECT 1 FROM updated)"


def append_and_update(
    rows: list[NewEvent],
    item_id: int,
    after_seq: int,
    columns: dict[str, Any],
    then: Sequence[tuple[str, list[Any]]] = (),
    *,
    one_statement: bool = False,
) -> bool:
    """UPDATE the item's read-model columns if the item is still at `after_seq` and not deleted, and
    only then INSERT the events and run `then` (the label rows' and tallies' statements); False (nothing
    written) if it is not. The UPDATE goes first, so that it also takes the item's row lock for the rest
    of the caller's transaction; the unique (item, seq) and (item, command_id) constraints still guard
    order and retries.

    With `one_statement` (PostgreSQL, one event), all of it is one data-modifying WITH whose parts read
    the UPDATE's row, and `then` must be guarded by WRITTEN: outside a transaction, the whole command is
    then one round trip and one commit."""
    db = connections[DEFAULT_DB_ALIAS]
    update_sql, update_params = _update_statement(db, item_id, after_seq, columns)
    with db.cursor() as cursor:
        if one_statement:
            insert_sql, insert_params = _insert_statement(db, rows, select_from="updated")
            parts = [f"updated AS ({update_sql} RETURNING 1)", f"appended AS ({insert_sql})"]
            parts += [f"then{n} AS ({sql})" for n, (sql, _) in enumerate(then)]
            cursor.execute(
                f"WITH {', '.join(parts)} SELECT count(*) FROM updated",
                [*update_params, *insert_params[0], *(p for _, params in then for p in params)],
            )
            return cursor.fetchone()[0] == 1
        insert_sql, insert_params = _insert_statement(db, rows)
        cursor.execute(update_sql, update_params)
        if cursor.rowcount != 1:
            return False
        cursor.executemany(insert_sql, insert_params)
        for sql, params in then:
            cursor.execute(sql, params)
        return True
