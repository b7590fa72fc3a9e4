"""Writes to the labeling core. `item_command_handle` is the one path by which an item's labels change."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from apps.common.errors import ApiError
from apps.datasets.models import Dataset, Image

from . import store
from .domain import Command, Context, ItemState, Limits, Rejected, decide, evolve, replay
from .domain.commands import (
    AddPolygon,
    ClosePolygon,
    DeleteLabelShapes,
    DiscardChanges,
    Redo,
    RelabelShape,
    Undo,
)
from .domain.events import Event, Saved
from .models import Event as EventRow
from .models import (
    Item,
    ItemDeletion,
    ItemLabel,
    ItemStatus,
    JobMember,
    JobTally,
    JobType,
    LabelClass,
    LabelingJob,
    Role,
)
from .permissions import RANK
from .readmodels import (
    ITEMS,
    LABELED,
    label_counts,
    label_key,
    live_columns,
    save_columns,
    tally_deltas,
)
from .signals import events_committed, items_deleted, job_items_added, label_classes_changed

log = logging.getLogger(__name__)

# Item.label_bits is a signed 64-bit integer: bits 0-62 (see LabelClass.slot).
LABEL_SLOTS = 63

# Commands whose decision reads the job's label classes; the others skip that query.
_READS_LABELS = (ClosePolygon, AddPolygon, RelabelShape, DeleteLabelShapes, Undo, Redo, DiscardChanges)
# The unique constraints that a concurrent append or an already-applied command_id runs into.
_APPEND_COLLISIONS = (
    "event_seq_unique_in_stream",
    "event_command_id_unique_in_stream",
    "labeling_event.item_id",
)
_MAX_ATTEMPTS = 5
_OPTIMISTIC_ATTEMPTS = 2  # then under the item's row lock (see item_command_handle)


@dataclass(frozen=True, slots=True)
class CommandResult:
    seq: int
    events: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False  # True when a retried command_id got its original answer

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
    row = EventRow.objects.filter(item_id=item_id, command_id=command_id).first()
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
    check_role: bool = False,
) -> CommandResult:
    """Decide `command` against the item's current state, append its events, update the read models.

    A command_id seen before on this item gets its original answer and is not applied again.
    With `check_role`, the actor must be an annotator or manager of the item's job, read with the item's
    head (a websocket checks at every command; REST views check before calling).
    Raises Rejected (nothing appended) or ApiError(404) for an unknown item.

    The first two attempts are optimistic: each reads the head without a lock, decides, and writes with a
    compare-and-set on the item's last_seq (`store.commit`); on PostgreSQL most commands are
    then two statements and no transaction. A writer overtaken twice (other commands came first) decides
    again under the item's row lock, where nobody can overtake it: under contention it waits its turn
    instead of losing again.
    """
    for attempt in range(_MAX_ATTEMPTS):
        lock = attempt >= _OPTIMISTIC_ATTEMPTS
        try:
            with transaction.atomic() if lock else contextlib.nullcontext():
                return _handle_once(item_id, actor_id, command, command_id, expected_seq, check_role, lock)
        except _Overtaken:
            log.debug("item %s: overtaken by another write, deciding again", item_id)
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
    check_role: bool,
    lock: bool,
) -> CommandResult:
    head = store.item_head_read(
        item_id, member_id=actor_id if check_role else None, command_id=command_id, lock=lock
    )
    if head is None:
        raise ApiError(404, "not_found", f"There is no item {item_id}.")
    if check_role and (head.role is None or RANK[head.role] < RANK[Role.ANNOTATOR]):
        raise Rejected("permission_denied", f"Your role ({head.role or 'none'}) may not label.")
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
        events = decide(state, command, Context(actor=actor_id, label_class_ids=label_ids, limits=limits()))
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
    if new_state is None or new_state.seq // every != state.seq // every:
        # Snapshots fall on multiples of `every`: walk the events to the states they need.
        walked = state
        for event in events:
            walked = evolve(walked, event)
            if walked.seq % every == 0:
                snapshots.append(walked)
        new_state = walked

    old_counts, counts = label_counts(state), label_counts(new_state)
    slots = store.label_slots(head.job_id, counts)
    columns = {**live_columns(new_state, counts, slots), "updated_at": now}
    if any(isinstance(e, Saved) for e in events):
        columns.update(save_columns(new_state, actor_id, now))
    deltas = tally_deltas(head.status, columns.get("status", head.status), old_counts, counts)
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

    counts_changed = "status" in columns or set(old_counts) != set(counts)
    # What a job page shows of the item: most commands (a vertex, a move) change none of it.
    summary_changed = (
        counts_changed
        or old_counts != counts
        or state.hard_example != new_state.hard_example
        or state.saved_seq != new_state.saved_seq
    )

    def after_commit() -> None:
        store.state_cache.put(item_id, final)
        events_committed.send(
            sender=Item,
            item_id=item_id,
            job_id=job_id,
            events=wire,
            item=item_wire,
            item_changed=summary_changed,
            counts_changed=counts_changed,
        )

    # robust: the events are committed; a failed broadcast is logged, never turned into an error
    # (sockets re-read the store when they notice they are behind).
    transaction.on_commit(after_commit, robust=True)
    return CommandResult(seq=new_state.seq, events=wire)


@dataclass(frozen=True, slots=True)
class BatchResult:
    seq: int
    applied: int
    refused: list[tuple[int, Rejected]]  # (index of the unit, why)


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
    context = Context(actor=actor_id, label_class_ids=label_class_ids, limits=limits())
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
    return BatchResult(seq=result.seq, applied=applied, refused=refused)


# Jobs, label classes and members -----------------------------------------------------------------


@transaction.atomic
def job_sync(*, job: LabelingJob) -> dict[str, int]:
    """Create an item for every image of the job's dataset that has none yet. Idempotent. An image
    deleted from the job keeps its (hidden) item, so a sync does not bring it back."""
    # One sync of a job at a time, so what it counts as added is what it added.
    LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
    have = set(Item.objects.filter(job=job).values_list("image_id", flat=True))
    missing = [
        pk
        for pk in Image.objects.filter(dataset_id=job.dataset_id).values_list("id", flat=True)
        if pk not in have
    ]
    Item.objects.bulk_create(
        [Item(job=job, image_id=pk) for pk in missing], ignore_conflicts=True, batch_size=1000
    )
    store.job_tally_add(job.pk, {ITEMS: len(missing)})
    result = {"added": len(missing), "total": Item.objects.filter(job=job, deleted_at__isnull=True).count()}
    if missing:
        transaction.on_commit(
            lambda: job_items_added.send(sender=LabelingJob, job_id=job.pk, **result), robust=True
        )
    return result


@transaction.atomic
def job_create(
    *,
    name: str,
    dataset: Dataset,
    created_by: Any,
    job_type: str = JobType.IMAGE_SEGMENTATION,
    description: str = "",
    label_classes: list[dict[str, str]] | tuple = (),
) -> LabelingJob:
    """A new job over `dataset`, its creator as manager, one item per dataset image."""
    job = LabelingJob.objects.create(
        name=name, dataset=dataset, job_type=job_type, description=description, created_by=created_by
    )
    JobMember.objects.create(job=job, user=created_by, role=Role.MANAGER)
    for label in label_classes:
        label_class_create(job=job, name=label["name"], color=label["color"])
    job_sync(job=job)
    return job


def jobs_sync_after_import(sender: Any, *, dataset_id: int, **kwargs: Any) -> None:
    """An import into a dataset synchronises every job over it (DESIGN section 5)."""
    for job in LabelingJob.objects.filter(dataset_id=dataset_id):
        job_sync(job=job)


def job_update(*, job: LabelingJob, **fields: Any) -> LabelingJob:
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=list(fields))
    return job


def _label_name_free(job_id: int, name: str, exclude_id: int | None = None) -> None:
    qs = LabelClass.objects.filter(job_id=job_id, name=name)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    if qs.exists():
        raise ApiError(409, "label_class_exists", f"This job already has a label class named {name!r}.")


@transaction.atomic
def label_class_create(*, job: LabelingJob, name: str, color: str) -> LabelClass:
    _label_name_free(job.pk, name)
    # The job's row lock makes two creations pick different slots.
    LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
    used = set(LabelClass.objects.filter(job=job, slot__isnull=False).values_list("slot", flat=True))
    slot = next((n for n in range(LABEL_SLOTS) if n not in used), None)
    label_class = LabelClass.objects.create(job=job, name=name, color=color, slot=slot)
    _label_classes_changed(job.pk)
    return label_class


@transaction.atomic
def label_class_update(*, label_class: LabelClass, **fields: str) -> LabelClass:
    if "name" in fields:
        _label_name_free(label_class.job_id, fields["name"], exclude_id=label_class.pk)
    for name, value in fields.items():
        setattr(label_class, name, value)
    label_class.save(update_fields=list(fields))
    _label_classes_changed(label_class.job_id)
    return label_class


def _label_classes_changed(job_id: int) -> None:
    """Every open page of the job redraws its label classes (after commit, so they read the new ones)."""
    transaction.on_commit(lambda: label_classes_changed.send(sender=LabelClass, job_id=job_id), robust=True)


@transaction.atomic
def label_class_delete(*, label_class: LabelClass, actor_id: int, cascade: bool = False) -> dict[str, int]:
    """Delete a label class. While shapes use it this is refused, unless `cascade`, which first appends
    "shapes of label deleted" events on every item that has such shapes. All in one transaction, checked
    again at the end, so a shape of the class drawn (or undone back) meanwhile is never left orphaned."""
    LabelClass.objects.select_for_update().filter(pk=label_class.pk).first()
    item_ids = list(ItemLabel.objects.filter(label_class=label_class).values_list("item_id", flat=True))
    if item_ids and not cascade:
        raise ApiError(
            409,
            "label_class_in_use",
            f"{len(item_ids)} image(s) have shapes labeled {label_class.name!r}; "
            "delete those shapes first or ask for cascade.",
        )
    for item_id in item_ids:
        item_command_handle(
            item_id=item_id, actor_id=actor_id, command=DeleteLabelShapes(label_class_id=label_class.pk)
        )
    if ItemLabel.objects.filter(label_class=label_class).exists():
        raise ApiError(
            409, "label_class_in_use", f"Shapes labeled {label_class.name!r} appeared meanwhile; try again."
        )
    JobTally.objects.filter(job_id=label_class.job_id, key=label_key(label_class.pk)).delete()
    _label_classes_changed(label_class.job_id)
    label_class.delete()
    return {"items_changed": len(item_ids)}


def job_member_set(*, job: LabelingJob, user: Any, role: str) -> JobMember:
    current = JobMember.objects.filter(job=job, user=user).first()
    if current is not None and current.role == Role.MANAGER and role != Role.MANAGER:
        _keep_a_manager(current)
    member, _ = JobMember.objects.update_or_create(job=job, user=user, defaults={"role": role})
    return member


def _keep_a_manager(member: JobMember) -> None:
    others = JobMember.objects.filter(job_id=member.job_id, role=Role.MANAGER).exclude(pk=member.pk)
    if not others.exists():
        raise ApiError(409, "last_manager", "A job keeps at least one manager.")


def job_member_remove(*, member: JobMember) -> None:
    if member.role == Role.MANAGER:
        _keep_a_manager(member)
    member.delete()


# Deleting images ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Holder:
    """Something besides the deleted items that uses a file: a job still showing its image, or a dataset
    with an image on the same stored file; and what the deleting person may know and do about it."""

    kind: str  # "job" or "dataset"
    pk: int
    name: str
    seen: bool  # a member of the job (a member of a job over the dataset, or its creator), or staff
    managed: bool  # a manager of the job (the dataset's creator or a manager of a job over it), or staff
    role: str | None = None  # the person's role in a job they see but do not manage


def _file_holders(*, images: list[Image], item_ids: set[int], actor: Any) -> dict[str, list[_Holder]]:
    """For each file of `images` used elsewhere, who else uses it: another dataset's image on the same
    stored file, or a live item of another job on an image of that file."""
    names = {image.file.name for image in images}
    others = list(
        Image.objects.filter(file__in=names)
        .exclude(pk__in=[image.pk for image in images])
        .select_related("dataset")
    )
    live = list(
        Item.objects.filter(image__file__in=names, deleted_at__isnull=True)
        .exclude(pk__in=item_ids)
        .select_related("job", "image")
    )
    job_roles: dict[int, str] = {}
    dataset_roles: dict[int, set[str]] = {}
    created: set[int] = set()
    if not actor.is_staff:
        job_roles = dict(
            JobMember.objects.filter(user=actor, job__in={item.job_id for item in live}).values_list(
                "job_id", "role"
            )
        )
        dataset_ids = {image.dataset_id for image in others}
        for dataset_id, role in JobMember.objects.filter(
            user=actor, job__dataset__in=dataset_ids
        ).values_list("job__dataset_id", "role"):
            dataset_roles.setdefault(dataset_id, set()).add(role)
        created = set(
            Dataset.objects.filter(pk__in=dataset_ids, created_by=actor).values_list("pk", flat=True)
        )
    found: dict[str, list[_Holder]] = {}
    for image in others:
        dataset, roles = image.dataset, dataset_roles.get(image.dataset_id, set())
        mine = actor.is_staff or dataset.pk in created
        found.setdefault(image.file.name, []).append(
            _Holder("dataset", dataset.pk, dataset.name, mine or bool(roles), mine or Role.MANAGER in roles)
        )
    for item in live:
        role = Role.MANAGER if actor.is_staff else job_roles.get(item.job_id)
        found.setdefault(item.image.file.name, []).append(
            _Holder("job", item.job_id, item.job.name, role is not None, role == Role.MANAGER, role)
        )
    return found


def _holders_text(holders: list[_Holder]) -> str:
    """The holders in words: those the person sees by name, the others only counted, so that a refusal
    names no job or dataset the person is not in."""
    words = []
    seen = {(h.kind, h.pk): h for h in holders if h.seen}
    for holder in sorted(seen.values(), key=lambda h: (h.kind != "job", h.name, h.pk)):
        text = f"{holder.kind} {holder.name!r}"
        if not holder.managed:
            text += (
                f" (you are its {holder.role}, not a manager)"
                if holder.kind == "job"
                else " (you manage no job over it)"
            )
        words.append(text)
    for kind in ("job", "dataset"):
        hidden = len({h.pk for h in holders if h.kind == kind and not h.seen})
        if hidden:
            words.append(f"{hidden} other {kind}{'' if hidden == 1 else 's'} you can't see")
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@transaction.atomic
def _tally_items_leaving(*, job_id: int, item_ids: set[int]) -> None:
    """Take the items out of their job's tallies; their rows are locked first, as commands lock them,
    so no command changes what they count between this and their deletion."""
    locked = Item.objects.select_for_update().filter(pk__in=item_ids, deleted_at__isnull=True).order_by("id")
    leaving = Item.objects.filter(pk__in=list(locked.values_list("id", flat=True))).order_by()
    deltas = {ITEMS: -leaving.count(), LABELED: -leaving.filter(status=ItemStatus.LABELED).count()}
    labels = (
        ItemLabel.objects.filter(item__in=leaving)
        .order_by()
        .values_list("label_class_id")
        .annotate(n=Count("id"))
    )
    deltas.update((label_key(label), -n) for label, n in labels)
    store.job_tally_add(job_id, deltas)


@dataclass(frozen=True, slots=True)
class ItemsDeleted:
    """A deletion's record, and the source files it kept (asked to delete, but still used elsewhere)."""

    deletion: ItemDeletion
    files_kept: list[dict[str, str]] = field(default_factory=list)  # [{file, reason}]


@transaction.atomic
def items_delete(
    *, items: list[Item], actor: Any, delete_source_files: bool = False, force: bool = False
) -> ItemsDeleted:
    """Take images out of their job: the items are hidden from lists and counts and refuse new commands,
    while their event streams stay readable for audit. With `delete_source_files` the files (and
    thumbnails) leave storage too. A file that another job still shows, or another dataset holds, is
    refused (409, nothing changes); with `force` it goes if the actor manages every such job and dataset
    (staff manage all), and otherwise stays, the answer saying why. Every deletion is recorded."""
    jobs = {item.job_id for item in items}
    if len(jobs) != 1:
        raise ApiError(400, "invalid_request", "Delete images of one job at a time.")
    now = timezone.now()
    ids = {item.pk for item in items}
    images = [item.image for item in items]
    holders = _file_holders(images=images, item_ids=ids, actor=actor) if delete_source_files else {}
    if holders and not force:
        uses = [f"{name} is still used by {_holders_text(found)}" for name, found in sorted(holders.items())]
        more = f"; and {len(uses) - 20} more" if len(uses) > 20 else ""
        raise ApiError(
            409,
            "source_file_in_use",
            f"Nothing was deleted: {len(uses)} of these files {'is' if len(uses) == 1 else 'are'} still used"
            " elsewhere: "
            + "; ".join(uses[:20])
            + more
            + ". With force, the images leave the job, and a file goes too when only jobs and datasets"
            " you manage still use it.",
        )
    # A forced deletion stops at what the actor manages: another manager's job keeps its images.
    kept = {
        name: [holder for holder in found if not holder.managed]
        for name, found in holders.items()
        if not all(holder.managed for holder in found)
    }
    _tally_items_leaving(job_id=next(iter(jobs)), item_ids=ids)
    Item.objects.filter(pk__in=ids, deleted_at__isnull=True).update(deleted_at=now)
    deleted_files: list[str] = []
    if delete_source_files:
        storage = default_storage
        going = [image for image in images if image.file.name not in kept]

        def remove_files() -> None:
            # After commit: files cannot be put back if the transaction rolled back.
            for image in going:
                for name in (image.file.name, image.thumbnail.name):
                    if name and storage.exists(name):
                        storage.delete(name)

        transaction.on_commit(remove_files, robust=True)
        deleted_files = sorted({image.file.name for image in going})
    job_id = jobs.pop()
    transaction.on_commit(
        lambda: items_deleted.send(sender=Item, job_id=job_id, item_ids=sorted(ids)), robust=True
    )
    deletion = ItemDeletion.objects.create(
        job_id=job_id,
        actor=actor,
        item_ids=sorted(ids),
        image_paths=sorted(image.path for image in images),
        delete_source_files=delete_source_files,
        forced=force,
        files_deleted=deleted_files,
    )
    files_kept = [
        {"file": name, "reason": f"still used by {_holders_text(found)}"}
        for name, found in sorted(kept.items())
    ]
    return ItemsDeleted(deletion=deletion, files_kept=files_kept)
