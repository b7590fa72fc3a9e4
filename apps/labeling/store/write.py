"""The command path's statements: the item's head (one read), and the write of a decided command
(`commit(plan)`: events, snapshots, the item's read model, its label rows and the job's tallies).

A handful of fixed statements, written out because compiling them through the ORM cost more than running
them (see docs/performance.md). No SQL text leaves this module.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ..domain import ItemState, state_to_dict
from ..models import Item, JobMember, Role, Snapshot, StoredEvent
from .cache import state_cache
from .chain import NewEvent, canonical
from .hooks import Appended, statements_for
from .load import snapshot_every
from .rows import item_attribute_statements, item_label_statements, tally_statements


def snapshot_save(item_id: int, state: ItemState) -> None:
    Snapshot.objects.create(item_id=item_id, seq=state.seq, state=state_to_dict(state))


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
    # The read-model columns the job's tallies count by, besides status (readmodels.item_tally_keys).
    hard_example: bool = False
    labeled_by_id: int | None = None


@functools.cache
def _tables() -> tuple[str, str, str, str]:
    """The tables of the command path's plain statements (asked at every command: computed once)."""
    from apps.datasets.models import Image

    from ..models import LabelClass

    return Item._meta.db_table, Image._meta.db_table, StoredEvent._meta.db_table, LabelClass._meta.db_table


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

    Commands read it without a lock and write with a compare-and-set on last_seq (`commit`).
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
            f"{role}, {applied}, i.hard_example, i.labeled_by_id FROM {items} i JOIN {images} im ON im.id = i.image_id WHERE i.id = %s{locking}",
            [*params, item_id],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    job_id, last_seq, width, height, deleted, status, tail_rows, role_found, applied_found, hard, labeler = (
        found
    )
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
        hard_example=bool(hard),
        labeled_by_id=labeler,
    )


def item_head_lock(item_id: int) -> ItemHead | None:
    """The item's head under its row lock, for the rest of the caller's transaction."""
    return item_head_read(item_id, lock=True)


def command_applied(item_id: int, command_id: str) -> bool:
    """Whether the command_id was applied on the item (now, not as of an earlier `item_head_read`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {StoredEvent._meta.db_table} WHERE item_id = %s AND command_id = %s",
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
            r.payload_json or canonical(r.payload),
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


# The guard of the statements that ride on a command's one-statement write (`_append_and_update`'s `then`).
_WRITTEN = "EXISTS (SELECT 1 FROM updated)"


def _append_and_update(
    rows: Sequence[NewEvent],
    item_id: int,
    after_seq: int,
    columns: Mapping[str, Any],
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
    the UPDATE's row, and `then` must be guarded by _WRITTEN: outside a transaction, the whole command is
    then one round trip and one commit."""
    db = connections[DEFAULT_DB_ALIAS]
    update_sql, update_params = _update_statement(db, item_id, after_seq, columns)
    with db.cursor() as cursor:
        if one_statement:
            insert_sql, insert_params = _insert_statement(db, rows, select_from="updated")
            # PostgreSQL runs the data-modifying parts of a WITH that the main query does not read after
            # it, the last-listed first (ExecPostprocessPlan; ExecInitModifyTable lconses them). Listed
            # in reverse, `then` runs in its own order, as on the other path: the job's shared rows
            # (its tallies, then the people's quality rows) are locked in one order by every command,
            # and two commands on different items can't deadlock on them.
            later = list(reversed(then))
            parts = [f"updated AS ({update_sql} RETURNING 1)", f"appended AS ({insert_sql})"]
            parts += [f"then{n} AS ({sql})" for n, (sql, _) in enumerate(later)]
            cursor.execute(
                f"WITH {', '.join(parts)} SELECT count(*) FROM updated",
                [*update_params, *insert_params[0], *(p for _, params in later for p in params)],
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


# Label rows and tallies ----------------------------------------------------------------------------


# The write of a decided command ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommitPlan:
    """Everything a decided command writes, worked out before any statement runs (services build it).

    `after_seq` is the compare-and-set: the write happens only while the item is still there and not
    deleted. `columns` are the item's read-model columns after the events, `labels_before`/`labels_after`
    its shape counts per label class (its ItemLabel rows), `tallies` what to add to its job's tallies."""

    item_id: int
    job_id: int
    after_seq: int
    rows: Sequence[NewEvent]
    snapshots: Sequence[ItemState]
    columns: Mapping[str, Any]
    labels_before: Mapping[int, int]
    labels_after: Mapping[int, int]
    tallies: Mapping[str, int]
    # Its attribute rows ((label class, name, value key) -> shapes; ItemAttribute) before and after.
    attributes_before: Mapping[tuple[int, str, str], int] = field(default_factory=dict)
    attributes_after: Mapping[tuple[int, str, str], int] = field(default_factory=dict)
    # What the registered row writers of the apps above labeling read (hooks.py); None: nothing to them.
    appended: Appended | None = None


def commit(plan: CommitPlan, *, savepoint: bool = True) -> bool:
    """Write the plan, all of it or nothing: False (nothing written) when the item moved on (another
    command was appended after `after_seq`) or was deleted.

    On PostgreSQL a plan of one event and no snapshot (nearly every command) is one statement with its
    label and attribute rows and tallies, which outside a caller's transaction needs none around it. Any other plan is
    written in one transaction, the item's row first: nothing is written before that compare-and-set
    succeeds. Inside a caller's transaction, `savepoint` (the default) lets the caller go on after a
    database error, as the command retries do; a bulk writer that fails as a whole passes False."""
    db = connections[DEFAULT_DB_ALIAS]
    one_statement = db.vendor == "postgresql" and len(plan.rows) == 1 and not plan.snapshots
    guard = _WRITTEN if one_statement else ""
    then = [
        *item_label_statements(plan.item_id, plan.labels_before, plan.labels_after, guard),
        *item_attribute_statements(plan.item_id, plan.attributes_before, plan.attributes_after, guard),
        *tally_statements(plan.job_id, plan.tallies, guard),
        *statements_for(plan.appended, guard),
    ]
    alone = one_statement and not db.in_atomic_block
    with contextlib.nullcontext() if alone else transaction.atomic(savepoint=savepoint):
        written = _append_and_update(
            plan.rows, plan.item_id, plan.after_seq, plan.columns, then, one_statement=one_statement
        )
        if written:
            for state in plan.snapshots:
                snapshot_save(plan.item_id, state)
    return written
