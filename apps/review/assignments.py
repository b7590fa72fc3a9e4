"""Assignments: who labels and who reviews each image, every change recorded, and "what do I do next".

A manager gives a set of images (chosen ids, or the items list's filter) an annotator and/or a reviewer,
or splits the unlabeled images evenly among annotators. Every seat whose holder changes gets an
AssignmentChange row (who, what, when, from whom to whom): the record is append-only.

"Start labeling" / "Start review" ask `next_item`: the first image in id order assigned to me, else
unassigned, that waits for the kind of work asked, passing over images someone else has open now
(ItemPresence, kept from labeling's item_presence signal) unless I choose to join them.

The items list gains the assignees and the `assigned_to` filter through labeling's ItemListHook.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.common.errors import ApiError
from apps.labeling.models import Item, ItemStatus, JobMember, LabelingJob, ReviewStatus, Role
from apps.labeling.selectors import ItemListHook

from .models import Assignment, AssignmentChange, AssignRole, ItemPresence

UNSET: Any = object()  # a seat the request leaves as it is (None: nobody)

# The roles that may hold each seat, and use "next" for it (managers do both; auditors neither).
SEAT_ROLES = {
    AssignRole.ANNOTATOR: (Role.ANNOTATOR, Role.MANAGER),
    AssignRole.REVIEWER: (Role.REVIEWER, Role.MANAGER),
}
WORK_SEAT = {"label": AssignRole.ANNOTATOR, "review": AssignRole.REVIEWER}


@dataclass(frozen=True)
class AssignResult:
    items: int  # images the request named
    changed: int  # seats whose holder changed (the record's new rows)
    batch: str


# Who holds the seats ------------------------------------------------------------------------------


def _members(job: LabelingJob) -> dict[int, str]:
    """user id -> role in the job, staff counting as managers only when they are members (a seat goes
    to someone who sees the job's items list)."""
    return dict(JobMember.objects.filter(job=job).values_list("user_id", "role"))


def seat_holder_check(job: LabelingJob, seat: str, user_id: int | None, members: dict[int, str]) -> None:
    """400 `invalid_assignee` when the user cannot hold the seat: not a member of the job, or a role
    that does not do that work (an auditor labels nothing, an annotator reviews nothing)."""
    if user_id is None:
        return
    role = members.get(user_id)
    allowed = SEAT_ROLES[AssignRole(seat)]
    if role not in allowed:
        what = "a member of this job" if role is None else f"a {role} here"
        raise ApiError(
            400,
            "invalid_assignee",
            f"{seat}: user {user_id} is {what}; the {seat} of an image is one of the job's "
            f"{' or '.join(str(r) + 's' for r in allowed)}.",
        )


def assign(
    *,
    job: LabelingJob,
    by: Any,
    items: QuerySet[Item] | Iterable[int],
    annotator: int | None = UNSET,
    reviewer: int | None = UNSET,
) -> AssignResult:
    """Give every item of `items` (a queryset of the job's items, or item ids, checked to be the job's)
    the annotator and/or reviewer given (UNSET: left as it is; None: nobody). Seats that change are
    recorded, in one transaction that holds the job's row, so two managers' assignments of one job
    follow each other and the record's order is theirs."""
    seats = {AssignRole.ANNOTATOR: annotator, AssignRole.REVIEWER: reviewer}
    seats = {seat: user for seat, user in seats.items() if user is not UNSET}
    if not seats:
        raise ApiError(400, "invalid_request", "Name an annotator or a reviewer (null: nobody) to assign.")
    members = _members(job)
    for seat, user in seats.items():
        seat_holder_check(job, seat, user, members)
    batch = uuid.uuid4()
    with transaction.atomic():
        LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
        if isinstance(items, QuerySet):
            ids = list(items.order_by().values_list("pk", flat=True))
        else:
            wanted = list(dict.fromkeys(items))
            ids = list(
                Item.objects.filter(job=job, pk__in=wanted, deleted_at__isnull=True).values_list(
                    "pk", flat=True
                )
            )
            if len(ids) != len(wanted):
                missing = sorted(set(wanted) - set(ids))[:10]
                raise ApiError(
                    400,
                    "invalid_request",
                    f"item_ids: not images of this job: {', '.join(map(str, missing))}.",
                )
        changed = _write(job, by, ids, [{seat: user for seat, user in seats.items()}] * len(ids), batch)
    return AssignResult(items=len(ids), changed=changed, batch=str(batch))


def split_evenly(
    *, job: LabelingJob, by: Any, items: QuerySet[Item], annotators: list[int]
) -> dict[str, Any]:
    """Split the images of `items` that are unlabeled among the annotators, in id order, in runs whose
    sizes differ by at most one (the first `len % n` annotators get one more): each labels a block of
    neighbouring images, as they were imported. Returns who got how many."""
    if not annotators:
        raise ApiError(400, "invalid_request", "annotators: name at least one annotator.")
    if len(set(annotators)) != len(annotators):
        raise ApiError(400, "invalid_request", "annotators: each annotator once.")
    members = _members(job)
    for user in annotators:
        seat_holder_check(job, AssignRole.ANNOTATOR, user, members)
    batch = uuid.uuid4()
    with transaction.atomic():
        LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
        ids = list(
            items.filter(status=ItemStatus.UNLABELED).order_by("id").values_list("pk", flat=True).distinct()
        )
        share, extra = divmod(len(ids), len(annotators))
        seats: list[dict[str, int | None]] = []
        counts: dict[int, int] = {}
        for index, user in enumerate(annotators):
            size = share + (1 if index < extra else 0)
            counts[user] = size
            seats += [{AssignRole.ANNOTATOR: user}] * size
        changed = _write(job, by, ids, seats, batch)
    return {
        "items": len(ids),
        "changed": changed,
        "batch": str(batch),
        "counts": [{"user": user, "items": n} for user, n in counts.items()],
    }


def _write(job: LabelingJob, by: Any, ids: list[int], seats: list[dict[str, Any]], batch: uuid.UUID) -> int:
    """Set each item's seats (seats[i] for ids[i]) and record every change; returns the changes."""
    current = {row.item_id: row for row in Assignment.objects.filter(item_id__in=ids)} if ids else {}
    new_rows: list[Assignment] = []
    dirty: list[Assignment] = []
    record: list[AssignmentChange] = []
    now = timezone.now()
    for item_id, wanted in zip(ids, seats, strict=True):
        row = current.get(item_id)
        fresh = row is None
        if row is None:
            row = Assignment(item_id=item_id, job=job, updated_at=now)
        moved = False
        for seat, user in wanted.items():
            field = f"{seat}_id"
            before = getattr(row, field)
            if before == user:
                continue
            setattr(row, field, user)
            moved = True
            record.append(
                AssignmentChange(
                    job=job,
                    item_id=item_id,
                    role=seat,
                    previous_id=before,
                    assignee_id=user,
                    changed_by=by if getattr(by, "pk", None) else None,
                    batch=batch,
                )
            )
        if moved:
            row.updated_at = now
            (new_rows if fresh else dirty).append(row)
    Assignment.objects.bulk_create(new_rows, batch_size=2000)
    Assignment.objects.bulk_update(dirty, ["annotator", "reviewer", "updated_at"], batch_size=2000)
    AssignmentChange.objects.bulk_create(record, batch_size=2000)
    return len(record)


def history(*, job: LabelingJob, item_id: int | None = None) -> QuerySet[AssignmentChange]:
    """The job's assignment record, newest first (one image's when `item_id` is given)."""
    rows = AssignmentChange.objects.filter(job=job).select_related(
        "previous", "assignee", "changed_by", "item__image"
    )
    return rows.filter(item_id=item_id) if item_id is not None else rows


# The items list's hook -----------------------------------------------------------------------------


def _assigned_to(qs: QuerySet[Item], job: LabelingJob, query: dict[str, Any], user: Any) -> QuerySet[Item]:
    """`assigned_to=me|<user id>`: images whose annotator or reviewer is that user; `none`: images no
    one is assigned to label."""
    value = query.get("assigned_to")
    if value is None:
        return qs
    of_job = Assignment.objects.filter(item=OuterRef("pk"))
    if value == "none":
        return qs.exclude(Exists(of_job.filter(annotator__isnull=False)))
    if value == "me":
        if user is None or not getattr(user, "is_authenticated", False):
            raise ApiError(400, "invalid_request", "assigned_to=me needs a signed-in user; give a user id.")
        value = user.pk
    who = int(value)
    # A join on the assignment's primary key (the item's id), as `next` does.
    return qs.filter(Q(assignment__annotator_id=who) | Q(assignment__reviewer_id=who))


def _decorate(items: list[Item]) -> None:
    """Set assignee_id/_name and reviewer_id/_name on a page's items, from one query."""
    rows = {
        row["item_id"]: row
        for row in Assignment.objects.filter(item_id__in=[item.pk for item in items]).values(
            "item_id", "annotator_id", "annotator__username", "reviewer_id", "reviewer__username"
        )
    }
    for item in items:
        row = rows.get(item.pk, {})
        item.assignee_id = row.get("annotator_id")  # type: ignore[attr-defined]
        item.assignee_name = row.get("annotator__username")  # type: ignore[attr-defined]
        item.reviewer_id = row.get("reviewer_id")  # type: ignore[attr-defined]
        item.reviewer_name = row.get("reviewer__username")  # type: ignore[attr-defined]


ITEM_LIST_HOOK = ItemListHook(params=("assigned_to",), apply=_assigned_to, decorate=_decorate)


# Presence: who has which image open ---------------------------------------------------------------


def on_item_presence(
    sender: Any, *, item_id: int, user_id: int, channel: str, what: str, **kwargs: Any
) -> None:
    """labeling's item_presence signal: keep one row per open item socket."""
    if what == "left":
        ItemPresence.objects.filter(channel=channel).delete()
        return
    ItemPresence.objects.update_or_create(
        channel=channel, defaults={"item_id": item_id, "user_id": user_id, "seen_at": timezone.now()}
    )


def presence_fresh_after() -> Any:
    """Rows seen before this belong to sockets gone without a word (a process that died): any open
    socket is heard from within the websocket idle timeout, or it is closed."""
    return timezone.now() - timedelta(seconds=settings.POLYLOG["WS_IDLE_SECONDS"] + 60)


def others_on(item_ids: list[int], me: Any) -> dict[int, list[dict[str, Any]]]:
    """item id -> the other people who have it open now (id and username)."""
    rows = (
        ItemPresence.objects.filter(item_id__in=item_ids, seen_at__gte=presence_fresh_after())
        .exclude(user_id=me.pk)
        .values_list("item_id", "user_id", "user__username")
        .distinct()
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for item_id, user_id, name in rows:
        out.setdefault(item_id, []).append({"id": user_id, "username": name})
    return out


# What next ----------------------------------------------------------------------------------------


def _waiting(job: LabelingJob, work: str) -> QuerySet[Item]:
    """The job's images that wait for the work: to label (unlabeled, or rejected by review: the
    annotator's fix is due), or to review (saved with shapes since the last decision)."""
    items = Item.objects.filter(job=job, deleted_at__isnull=True)
    if work == "label":
        return items.filter(Q(status=ItemStatus.UNLABELED) | Q(review_status=ReviewStatus.REJECTED))
    return items.filter(review_status=ReviewStatus.TO_REVIEW)


def next_item(*, job: LabelingJob, user: Any, work: str, join: bool) -> dict[str, Any]:
    """The next image for `user` to label or review: assigned to them first, then unassigned, each in id
    order; an image someone else has open is passed over unless `join`. 404 `nothing_to_do` when none.

    Two queries that each stop at their first row: mine, driven by the assignments' (job, seat) index;
    then the unassigned, walking the job's waiting images in id order (the first ones usually qualify),
    so a click costs the same in a job of a million images."""
    seat = WORK_SEAT[work]
    waiting = _waiting(job, work)
    if not join:
        busy = ItemPresence.objects.filter(item=OuterRef("pk"), seen_at__gte=presence_fresh_after()).exclude(
            user_id=user.pk
        )
        waiting = waiting.exclude(Exists(busy))
    # A join on the assignment's primary key (the item's id), whichever side the planner starts from: an
    # `IN (subquery)` here was planned, on fresh statistics, as a scan of my assignments per waiting image.
    item = (
        waiting.filter(**{f"assignment__{seat}_id": user.pk}).select_related("image").order_by("id").first()
    )
    assigned_to_me = item is not None
    if item is None:
        taken = Assignment.objects.filter(item=OuterRef("pk"), **{f"{seat}__isnull": False})
        item = waiting.exclude(Exists(taken)).select_related("image").order_by("id").first()
    if item is None:
        doing = "label" if work == "label" else "review"
        passed = "" if join else " (images someone else has open are passed over: join them to include them)"
        raise ApiError(
            404,
            "nothing_to_do",
            f"Nothing to {doing} here: no image waiting is assigned to you or to nobody{passed}.",
        )
    return {
        "item": item.pk,
        "url": f"/items/{item.pk}/",
        "image": {"name": item.image.name, "path": item.image.path},
        "assigned_to_me": assigned_to_me,
        "others_on_it": others_on([item.pk], user).get(item.pk, []),
    }
