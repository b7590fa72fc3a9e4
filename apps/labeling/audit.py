"""Reads for audit and replay: an item's timeline with summaries, the diff between two seqs, a job's
activity, the integrity of the hash chains, and the event log as JSON Lines (docs/audit.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncDate

from apps.common.errors import ApiError

from . import selectors, store
from .domain import ItemState
from .domain.audit import draft_step, event_summary, shape_number, state_diff
from .models import Item, LabelClass, LabelingJob, StoredEvent

# The event types that put a new closed polygon on an image: what "shapes drawn" counts.
DRAWN_TYPES = ("polygon_closed", "polygon_added")
# A job whose log was tampered with everywhere would list a problem per event; the answer shows this many.
PROBLEMS_SHOWN = 1000
# The log is sent in pieces of about this many bytes.
LOG_CHUNK_BYTES = 64 * 1024


# Timeline ------------------------------------------------------------------------------------------


class SeqWindow:
    """A whole stream as a paginator sees it: its length is the item's last seq and a slice is a range of
    seqs (they run 1..last_seq without gaps), read through the (item, seq) index, where a queryset would
    count every row and skip the earlier ones (OFFSET) on each page."""

    ordered = True

    def __init__(self, rows: QuerySet[StoredEvent], last_seq: int) -> None:
        self.rows = rows
        self.last_seq = last_seq

    def count(self) -> int:
        return self.last_seq

    def __len__(self) -> int:
        return self.last_seq

    def __getitem__(self, window: slice) -> list[StoredEvent]:
        return list(self.rows.filter(seq__gt=window.start or 0, seq__lte=window.stop))


def item_timeline(
    *,
    item: Item,
    actor_id: int | None = None,
    types: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[StoredEvent] | SeqWindow:
    """The item's events in seq order, filtered by actor, any of `types`, and time (both ends included),
    for a paginator to slice."""
    rows = (
        StoredEvent.objects.filter(item_id=item.pk)
        .select_related("actor")
        .only("seq", "type", "schema_version", "payload", "actor_id", "actor__username", "created_at")
        .order_by("seq")
    )
    if actor_id is None and not types and since is None and until is None:
        return SeqWindow(rows, item.last_seq)
    if actor_id is not None:
        rows = rows.filter(actor_id=actor_id)
    if types:
        rows = rows.filter(type__in=types)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lte=until)
    return rows


def _label_names(job_id: int) -> dict[int, str]:
    return dict(LabelClass.objects.filter(job_id=job_id).values_list("id", "name"))


def _people(rows: Sequence[StoredEvent]) -> Callable[[int], str]:
    """Names of people by user id: the page's actors at hand, anyone else (whose change an undo left
    alone) read once when a summary names them."""
    names = {row.actor_id: row.actor.username for row in rows}

    def person_name(user_id: int) -> str:
        if user_id not in names:
            found = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
            names[user_id] = found or f"user {user_id}"
        return names[user_id]

    return person_name


def _target_types(item: Item, rows: Sequence[StoredEvent]) -> dict[int, str]:
    """The types of the events the page's undone/redone name (their target_seq), in one query: a quoted
    action reads as its own event's summary ("added dog #2", not "drew dog #2", for a polygon_added)."""
    targets = {
        row.payload.get("target_seq")
        for row in rows
        if row.type in ("undone", "redone") and isinstance(row.payload, dict)
    }
    targets.discard(None)
    if not targets:
        return {}
    found = StoredEvent.objects.filter(item_id=item.pk, seq__in=targets).values_list("seq", "type")
    return dict(found)


def timeline_entries(*, item: Item, rows: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """A page of the timeline as the wire shows it: each event with its `summary`, which reads the state
    just before it, and what a client needs to group a draft's steps into one row: `draft_step` and
    `shape_number` (docs/audit.md). A page whose events lie close together in the stream (unfiltered, or
    filtered by a busy actor) costs one state load and one read of its span; events far apart one load
    each."""
    names = _label_names(item.job_id)

    def label_name(label_class_id: int) -> str:
        return names.get(label_class_id, f"label class {label_class_id} (deleted)")

    person_name = _people(rows)
    target_types = _target_types(item, rows)
    width, height = item.image.width, item.image.height
    try:
        befores: list[ItemState | None] = list(
            store.states_before(item.pk, width, height, [row.seq for row in rows])
        )
    except (KeyError, ValueError, TypeError):
        befores = [None] * len(rows)  # a stream altered in the database: each row on its own below
    entries = []
    for row, before in zip(rows, befores, strict=True):
        name = row.actor.username
        entry = store.event_dict(row, name)
        if before is None:
            try:
                before = store.state_load(item.pk, width, height, row.seq - 1)
            except (KeyError, ValueError, TypeError):
                before = None  # summarised from its own payload only
        try:
            event = store.row_event(row)
            target = getattr(event, "target_seq", None)
            entry["summary"] = event_summary(
                event,
                before,
                name,
                label_name,
                person_name=person_name,
                target_type=target_types.get(target) if target is not None else None,
            )
            entry["draft_step"] = draft_step(event, before)
            entry["shape_number"] = shape_number(event, before)
        except (KeyError, ValueError, TypeError):
            # Only rows altered in the database get here; integrity/ names them, the timeline goes on.
            entry["summary"] = f"{name}: {row.type} (an event polylog cannot read; see integrity/)"
            entry["draft_step"] = False
            entry["shape_number"] = None
        entries.append(entry)
    return entries


# Diff ----------------------------------------------------------------------------------------------


def item_diff(*, item: Item, from_seq: int, to_seq: int) -> dict[str, Any]:
    """What changed in the item's closed shapes from the state at `from_seq` to the state at `to_seq`.
    Either order is accepted: from a later seq to an earlier one is the change that going back makes."""
    for name, seq in (("from_seq", from_seq), ("to_seq", to_seq)):
        if seq > item.last_seq:
            raise ApiError(
                400, "invalid_request", f"{name} {seq} is past the stream's end ({item.last_seq})."
            )
    low, high = sorted((from_seq, to_seq))
    first = selectors.item_state_get(item=item, at_seq=low)
    if high - low <= store.snapshot_every():
        second = store.state_advance(item.pk, first, high)
    else:
        second = selectors.item_state_get(item=item, at_seq=high)
    before, after = (first, second) if from_seq <= to_seq else (second, first)
    return {"from_seq": from_seq, "to_seq": to_seq, **state_diff(before, after)}


# Activity ------------------------------------------------------------------------------------------


def job_activity(
    *, job: LabelingJob, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Who did how much in a job (per actor) and when (events per UTC day), counted by the database
    over the event table. Every event counts, undone ones too: this is activity, not the result."""
    rows = StoredEvent.objects.filter(item__job_id=job.pk)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lte=until)
    actors = (
        rows.values("actor_id", "actor__username")
        .annotate(
            events=Count("id"),
            shapes_drawn=Count("id", filter=Q(type__in=DRAWN_TYPES)),
            saves=Count("id", filter=Q(type="saved")),
            items_touched=Count("item_id", distinct=True),
            first_at=Min("created_at"),
            last_at=Max("created_at"),
        )
        .order_by("-events", "actor_id")
    )
    days = (
        rows.annotate(date=TruncDate("created_at", tzinfo=UTC))
        .values("date")
        .annotate(events=Count("id"))
        .order_by("date")
    )
    per_actor = [
        {
            "actor": row["actor_id"],
            "actor_name": row["actor__username"],
            "events": row["events"],
            "shapes_drawn": row["shapes_drawn"],
            "saves": row["saves"],
            "items_touched": row["items_touched"],
            "first_at": store.iso(row["first_at"]),
            "last_at": store.iso(row["last_at"]),
        }
        for row in actors
    ]
    return {
        "job_id": job.pk,
        "since": None if since is None else store.iso(since.astimezone(UTC)),
        "until": None if until is None else store.iso(until.astimezone(UTC)),
        "events": sum(actor["events"] for actor in per_actor),
        "actors": per_actor,
        "days": [{"date": row["date"].isoformat(), "events": row["events"]} for row in days],
    }


# Integrity -----------------------------------------------------------------------------------------


def _job_heads(job: LabelingJob) -> list[tuple[int, int]]:
    """(item_id, last_seq) of every item of the job, those deleted from it included (their streams stay)."""
    return list(Item.objects.filter(job_id=job.pk).order_by("id").values_list("id", "last_seq"))


def _integrity(report: store.ChainReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "items": report.items,
        "events": report.events,
        "problems": report.problems[:PROBLEMS_SHOWN],
        "problems_total": len(report.problems),
    }


def item_integrity(*, item: Item) -> dict[str, Any]:
    return _integrity(store.chains_verify([(item.pk, item.last_seq)]))


def job_integrity(*, job: LabelingJob) -> dict[str, Any]:
    return _integrity(store.chains_verify(_job_heads(job)))


# The log as JSON Lines -----------------------------------------------------------------------------


def log_line(row: store.LogRow) -> bytes:
    """One event of the exported log; `created_at` is the very string its hash covers."""
    item_id, seq, type_, version, payload, actor_id, created_at, command_id, hash_ = row
    record = {
        "item_id": item_id,
        "seq": seq,
        "type": type_,
        "schema_version": version,
        "payload": payload,
        "actor": actor_id,
        "created_at": store.iso(created_at),
        "command_id": command_id,
        "hash": hash_,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _log_chunks(heads: Iterable[tuple[int, int]]) -> Iterator[bytes]:
    pending: list[bytes] = []
    size = 0
    for row in store.log_rows(heads):
        line = log_line(row)
        pending.append(line)
        size += len(line)
        if size >= LOG_CHUNK_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def item_log(*, item: Item) -> Iterator[bytes]:
    """The item's events as JSON Lines, in seq order, in pieces of about LOG_CHUNK_BYTES."""
    return _log_chunks([(item.pk, item.last_seq)])


def job_log(*, job: LabelingJob) -> Iterator[bytes]:
    """Every stream of the job (deleted images' too) as JSON Lines, in (item_id, seq) order."""
    return _log_chunks(_job_heads(job))
