"""The event log's rows and hash chain: the rows a command appends (`NewEvent`, chained by `rows_for`),
the wire form of an event, and reading whole streams back (the log export and the chain check).

Rows are only ever inserted; nothing in polylog updates or deletes an Event (docs/events.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain import SCHEMA_VERSION, Event, event_from_record, event_payload, event_type
from ..models import StoredEvent

GENESIS_HASH = "0" * 64


def canonical(value: Any) -> str:
    """The canonical JSON of the hash chain (docs/events.md): sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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
    payload_json: str | None = None,
) -> str:
    """sha256 over the previous hash and the event's canonical JSON (docs/events.md spells it out): the
    canonical JSON of [item_id, seq, type, schema_version, payload, actor_id, created_at, command_id].
    `payload_json`, when the caller has it, is canonical(payload): a new row's payload is encoded once,
    for its hash and its INSERT (a merge's payload is ~30 KB; see docs/performance.md)."""
    if payload_json is None:
        payload_json = canonical(payload)
    head = canonical([item_id, seq, type, schema_version])
    tail = canonical([actor_id, iso(created_at), command_id])
    # A JSON array is its items joined by ",": the same text as canonical() of the whole list.
    body = f"{head[:-1]},{payload_json},{tail[1:]}"
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def row_hash(row: StoredEvent | NewEvent, prev_hash: str) -> str:
    payload_json = row.payload_json if isinstance(row, NewEvent) else None
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
        payload_json=payload_json,
    )


def row_event(row: StoredEvent) -> Event:
    return event_from_record(row.type, row.schema_version, row.payload, row.actor_id)


def event_dict(row: StoredEvent | NewEvent, actor_name: str | None = None) -> dict[str, Any]:
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
    payload_json: str = ""  # canonical(payload): the hash's and the INSERT's one encoding of it

    def model(self) -> StoredEvent:
        """The unsaved model instance, for bulk_create."""
        return StoredEvent(**{name: getattr(self, name) for name in self.__slots__ if name != "payload_json"})


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
        payload = event_payload(event)
        row = NewEvent(
            item_id=item_id,
            seq=first_seq + offset,
            type=event_type(event),
            schema_version=SCHEMA_VERSION,
            payload=payload,
            actor_id=event.actor,
            created_at=created_at,
            # One command gives at most one event today; only the first carries the id, so the
            # uniqueness of (item, command_id) keeps a retried command from being applied twice.
            command_id=command_id if offset == 0 else None,
            payload_json=canonical(payload),
        )
        row.hash = prev_hash = row_hash(row, prev_hash)
        rows.append(row)
    return rows


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
            StoredEvent.objects.filter(item_id=item_id, seq__gt=after)
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
        StoredEvent.objects.filter(item_id__in=item_ids).order_by("item_id", "seq").values_list(*LOG_COLUMNS)
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
