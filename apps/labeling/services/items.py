"""Deleting images from a job: the items leave lists and counts, their streams stay for audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from apps.common.errors import ApiError
from apps.datasets.models import Dataset, Image
from apps.datasets.tasks import source_files_delete_later

from .. import store
from ..domain.state import REVIEW_NONE
from ..models import Item, ItemDeletion, ItemLabel, ItemStatus, JobMember, Role
from ..readmodels import HARD, ITEMS, LABELED, label_key, labeler_key, review_key
from ..signals import items_deleted


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
    deltas = {
        ITEMS: -leaving.count(),
        LABELED: -leaving.filter(status=ItemStatus.LABELED).count(),
        HARD: -leaving.filter(hard_example=True).count(),
    }
    labelers = leaving.filter(labeled_by__isnull=False).values_list("labeled_by").annotate(n=Count("id"))
    deltas.update((labeler_key(user_id), -n) for user_id, n in labelers)
    reviewed = leaving.exclude(review_status=REVIEW_NONE).values_list("review_status").annotate(n=Count("id"))
    deltas.update((review_key(review), -n) for review, n in reviewed)
    labels = (
        ItemLabel.objects.filter(item__in=leaving)
        .order_by()
        .values_list("label_class_id")
        .annotate(n=Count("id"))
    )
    deltas.update((label_key(label), -n) for label, n in labels)
    store.job_tally_add(job_id, deltas)


def deletion_told(deletion: ItemDeletion) -> dict[str, Any]:
    """What an item socket tells of a deletion (the item_deleted frame, docs/protocol.md): who, when, and
    the record's id (GET /api/jobs/<id>/deletions/ lists it)."""
    actor = deletion.actor
    return {
        "deletion_id": deletion.pk,
        "by": {"id": actor.pk, "username": actor.get_username()},
        "deleted_at": deletion.created_at.isoformat(),
    }


def item_deletion_told(item_id: int) -> dict[str, Any] | None:
    """The deletion that took the item out of its job, as deletion_told says it; None while it is in its
    job. Its record is the job's first made at or after the item's deleted_at that names it (the
    service stamps the item, then writes the record, in one transaction)."""
    found = (
        Item.objects.filter(pk=item_id, deleted_at__isnull=False).values_list("job_id", "deleted_at").first()
    )
    if found is None:
        return None
    job_id, deleted_at = found
    records = ItemDeletion.objects.filter(job_id=job_id, created_at__gte=deleted_at).order_by(
        "created_at", "id"
    )
    for deletion in records.select_related("actor").iterator(chunk_size=20):
        if item_id in deletion.item_ids:
            return deletion_told(deletion)
    return None


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
    (staff manage all), and otherwise stays, the answer saying why. Every deletion is recorded. The files
    themselves are deleted by a task on the queue once this commits (apps/datasets/tasks.py)."""
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
    going = [image for image in images if image.file.name not in kept] if delete_source_files else []
    job_id = jobs.pop()
    deletion = ItemDeletion.objects.create(
        job_id=job_id,
        actor=actor,
        item_ids=sorted(ids),
        image_paths=sorted(image.path for image in images),
        delete_source_files=delete_source_files,
        forced=force,
        files_deleted=sorted({image.file.name for image in going}),
    )
    # Whoever has one of these images open is told who deleted it and when (the item socket's
    # item_deleted frame), not left to find out from their next command's refusal.
    told = deletion_told(deletion)
    transaction.on_commit(
        lambda: items_deleted.send(sender=Item, job_id=job_id, item_ids=sorted(ids), deletion=told),
        robust=True,
    )
    if going:
        # Storage is left to the queue, after the commit: the answer does not wait on it, and files are
        # never removed for a deletion that rolled back. A file it cannot delete fails the run, with why.
        names = sorted({name for image in going for name in (image.file.name, image.thumbnail.name) if name})
        source_files_delete_later(names=names, why={"deletion_id": deletion.pk})
    files_kept = [
        {"file": name, "reason": f"still used by {_holders_text(found)}"}
        for name, found in sorted(kept.items())
    ]
    return ItemsDeleted(deletion=deletion, files_kept=files_kept)
