"""Reading states: the nearest snapshot plus the tail of events after it, folded by one function (`fold`).

Every loader (one seq, a run of seqs for the timeline, many items for exports, the command path's current
state) reads stored events as `StoredRow`s and folds them with `fold`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection

from ..domain import ItemState, event_from_record, evolve, initial_state, state_from_dict
from ..domain.attributes import AttributeSpec, parse_declarations
from ..models import Item, LabelClass, Snapshot, StoredEvent
from .cache import state_cache
from .chain import GENESIS_HASH, iso

if TYPE_CHECKING:
    from .write import ItemHead


def snapshot_every() -> int:
    return settings.POLYLOG["SNAPSHOT_EVERY"]


def snapshot_due(before: ItemState, after: ItemState, saving: bool) -> bool:
    """Whether the state `after` (one event past `before`; `saving` when that event is a save) is stored as
    a snapshot: at every multiple of K, and at a save that is at least K/10 events past the nearest earlier
    snapshot (a multiple of K, or the previous save's). The save's snapshot makes a saved item's state one
    row to read, whatever the length of its stream: exports (states_load_many) fold only the events after
    it, not every event of the stream, so a job whose shapes carry attributes (one more event a shape)
    exports as fast as one without (docs/performance.md). Saves close together share one: a save that
    changed little costs no row."""
    every = snapshot_every()
    if after.seq % every == 0:
        return True
    nearest = max(after.seq // every * every, before.saved_seq)
    return saving and after.seq - nearest >= max(1, every // 10)


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


# A stored event as the loaders read it: (seq, type, schema_version, payload, actor_id, hash).
StoredRow = tuple[int, str, int, Any, int, str]


def _rows_from(item_id: int, first_seq: int, upto_seq: int | None) -> list[StoredRow]:
    """The StoredRows of events first_seq.. in order."""
    upto = "" if upto_seq is None else " AND seq <= %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, type, schema_version, payload, actor_id, hash FROM {StoredEvent._meta.db_table} "
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
            f"SELECT seq, type, payload, actor_id, created_at FROM {StoredEvent._meta.db_table} "
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


def fold(state: ItemState, row: StoredRow) -> ItemState:
    """The state after one stored event: the one place where stored rows become domain events."""
    _, type_, version, payload, actor, _ = row
    return evolve(state, event_from_record(type_, version, _decoded(payload), actor))


def _fold(state: ItemState, rows: Sequence[StoredRow], last: str) -> tuple[ItemState, str]:
    """Fold `rows` onto `state`, with the hash of the last row read (`last` when there is none)."""
    for row in rows:
        if row[0] > state.seq:  # the first row may be the event the state already stands at
            state = fold(state, row)
        last = row[5]
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
                row = next(rows, None)
                if row is None or row[0] != state.seq + 1:
                    raise ValueError(f"item {item_id}: event {state.seq + 1} is missing")
                state = fold(state, row)
            out.append(state)
        start = end + 1
    return out


def states_load_many(
    heads: Sequence[tuple[int, float, float, int]], *, history: bool = True
) -> dict[int, ItemState]:
    """The states of many items at their `last_seq`, for bulk readers (exports): [(item_id, width, height,
    last_seq)] -> {item_id: state}. The process cache answers where it is current; for the rest, the
    latest snapshots of all of them come in one statement and their tails of events in one more (only
    for the items whose snapshot is not at their last_seq: a saved item's usually is, store.snapshot_due).

    Without `history` (exports read shapes only), a snapshot that is the item's state is read without its
    undo and redo stacks, whose shapes (the before of every edit) are as many again as the current ones;
    a state with events still to fold onto it is read whole, since undo folds from those stacks."""
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
            decoded = _decoded(raw)
            last_seq = missing[item_id][2]
            if decoded["seq"] > last_seq:  # a snapshot past last_seq would be a torn read
                continue
            whole = history or decoded["seq"] < last_seq
            start[item_id] = state_from_dict(decoded if whole else _without_history(decoded))
    for item_id, (width, height, _) in missing.items():
        states[item_id] = start.get(item_id) or initial_state(width, height)
    # Events after each starting point short of its last_seq (seq > the lowest such point), in one pass.
    behind = [item_id for item_id, (_, _, last_seq) in missing.items() if states[item_id].seq < last_seq]
    if not behind:
        return states
    floor = min(states[item_id].seq for item_id in behind)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT item_id, seq, type, schema_version, payload, actor_id, hash FROM {StoredEvent._meta.db_table} "
            f"WHERE item_id IN ({', '.join(['%s'] * len(behind))}) AND seq > %s ORDER BY item_id, seq",
            [*behind, floor],
        )
        for item_id, *row in cursor.fetchall():
            state = states[item_id]
            if state.seq < row[0] <= missing[item_id][2]:
                states[item_id] = fold(state, tuple(row))
    return states


def _without_history(raw: dict[str, Any]) -> dict[str, Any]:
    """A snapshot's dict with empty undo and redo stacks and only the shape rows its current and saved
    shapes use. Those come first in the table (state_to_dict writes them before the stacks' rows), so they
    are a prefix of it, which keeps every index (a row's points may be an earlier row's index)."""
    used = [i for i in (*raw["shapes"], *raw["saved"]) if i is not None]
    return {**raw, "table": raw["table"][: max(used, default=-1) + 1], "undo": [], "redo": []}


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


def job_attribute_specs(job_id: int) -> dict[int, dict[str, AttributeSpec]]:
    """{label class id: {name: declaration}} of the job's classes that declare attributes (set_attributes)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, attributes FROM {LabelClass._meta.db_table} WHERE job_id = %s", [job_id])
        rows = cursor.fetchall()
    specs = {}
    for label_id, raw in rows:
        declared = parse_declarations(_decoded(raw) or [])
        if declared:
            specs[label_id] = {spec.name: spec for spec in declared}
    return specs
