"""Assignments: who labels and who reviews each image, every change recorded, and "what do I do next".

A manager gives a set of images (chosen ids, or the items list's filter) an annotator and/or a reviewer,
or splits the unlabeled images evenly among annotators. Every seat whose holder changes gets an
AssignmentChange row (who, what, when, from whom to whom): the record is append-only.

"Start labeling" / "Start review" ask `next_item`: the first image in id order assigned to me, else
unassigned, that waits for the kind of work asked, passing over images someone else has open now
(ItemPresence, kept from labeling's item_presence signal) unless I choose to join them.

The items list gains the assignees and the `assigned_to` filter through labeling's ItemListHook. Every
change reaches the job's open pages after commit, as the job socket's `assignments` frame; the image
"next" gives is held for its asker (NextClaim) until their page opens it, so two people pressing Start at
once get different images (docs/review.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.common.errors import ApiError
from apps.labeling import live
from apps.labeling.models import Item, ItemStatus, JobMember, LabelingJob, ReviewStatus, Role
from apps.labeling.permissions import MANAGE, READ, job_role_now, role_require
from apps.labeling.selectors import ItemListHook

from .models import Assignment, AssignmentChange, AssignRole, ItemPresence, NextClaim

User = get_user_model()
UNSET: Any = object()  # a seat the request leaves as it is (None: nobody)

# The roles that may hold each seat, and use "next" for it (managers do both; auditors neither).
SEAT_ROLES = {
    AssignRole.ANNOTATOR: (Role.ANNOTATOR, Role.MANAGER),
    AssignRole.REVIEWER: (Role.REVIEWER, Role.MANAGER),
}
WORK_SEAT = {"label": AssignRole.ANNOTATOR, "review": AssignRole.REVIEWER}
# How long an image "next" gave someone stays held for them before their page opens it.
CLAIM_SECONDS = 60
# The first key of the PostgreSQL advisory lock that hands out one job's images (the second is the job's id).
NEXT_LOCK_SPACE = 24_001
# An assignments frame names each image whose seats changed up to this many; past it, it names none and
# the job pages read their list again (a split of 30,000 images is not sent row by row).
FRAME_ITEMS = 500


@dataclass(frozen=True)
class AssignResult:
    items: int  # images the request named
    changed: int  # seats whose holder changed (the record's new rows)
    batch: str


# Who holds the seats ------------------------------------------------------------------------------


def _members_held(job: LabelingJob, user_ids: Iterable[int | None]) -> dict[int, str]:
    """user id -> role in the job of those of `user_ids` who are members, staff counting as managers only
    when they are members (a seat goes to someone who sees the job's items list), and whose account is
    active (a deactivated account's seats were emptied: job_members_deactivate). Their member rows are
    held until the transaction ends: a removal or a change of role that comes meanwhile waits for the
    seats to be written (then applies to them, as to any seat given before), so a seat never goes to
    someone whose membership ended between the check and the write. A deactivation that commits
    meanwhile waits for the job's row, then empties the seats just written."""
    wanted = [user_id for user_id in user_ids if user_id is not None]
    if not wanted:
        return {}
    # A subquery, not a join: FOR UPDATE holds the member rows only, never the users' (a deactivation
    # holds its user's row and then waits for the job's: holding both here could deadlock).
    active = get_user_model()._default_manager.filter(pk__in=wanted, is_active=True).values("pk")
    rows = JobMember.objects.select_for_update().filter(job=job, user_id__in=active)
    return dict(rows.values_list("user_id", "role"))


def actor_manages_check(job: LabelingJob, by: Any) -> None:
    """The person assigning still manages the job, as stored now: the view checked their role before the
    transaction, and a demotion or removal may have committed since. Called after `_members_held` took
    their member row (they are among the people held), so one that comes meanwhile waits for the seats
    to be written. 404 when no longer a member, 403 `permission_denied` for a lower role, as the view
    answers."""
    if getattr(by, "pk", None) is None:  # no person (a script): nothing to re-check
        return
    role_require(job_role_now(by.pk, job.pk), MANAGE, "job")


def seat_holder_check(job: LabelingJob, seat: str, user_id: int | None, members: dict[int, str]) -> None:
    """400 `invalid_assignee` when the user cannot hold the seat: not a member of the job (or their
    account is deactivated), or a role that does not do that work (an auditor labels nothing, an
    annotator reviews nothing)."""
    if user_id is None:
        return
    role = members.get(user_id)
    allowed = SEAT_ROLES[AssignRole(seat)]
    if role not in allowed:
        what = (
            "not a member of this job (or their account is deactivated)" if role is None else f"a {role} here"
        )
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
    follow each other and the record's order is theirs, and the member rows of the people named, so
    they are checked as they stand when the seats are written."""
    seats = {AssignRole.ANNOTATOR: annotator, AssignRole.REVIEWER: reviewer}
    seats = {seat: user for seat, user in seats.items() if user is not UNSET}
    if not seats:
        raise ApiError(400, "invalid_request", "Name an annotator or a reviewer (null: nobody) to assign.")
    batch = uuid.uuid4()
    with transaction.atomic():
        LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
        members = _members_held(job, [*seats.values(), getattr(by, "pk", None)])
        actor_manages_check(job, by)
        for seat, user in seats.items():
            seat_holder_check(job, seat, user, members)
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
    batch = uuid.uuid4()
    with transaction.atomic():
        LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
        members = _members_held(job, [*annotators, getattr(by, "pk", None)])
        actor_manages_check(job, by)
        for user in annotators:
            seat_holder_check(job, AssignRole.ANNOTATOR, user, members)
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
    """Set each item's seats (seats[i] for ids[i]) and record every change; returns the changes. Once
    the transaction commits, the job's open pages are told (an `assignments` frame)."""
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
    if record:
        frame = _frame(by, batch, new_rows + dirty, record)
        transaction.on_commit(lambda: live.assignments_publish(job.pk, frame), robust=True)
    return len(record)


def _frame(
    by: Any, batch: uuid.UUID, rows: list[Assignment], record: list[AssignmentChange]
) -> dict[str, Any]:
    """The `assignments` frame's body (docs/protocol.md): each image whose seats changed, with its seats
    now and `change`, the id of the record's last row for it (and the frame's `change`, the batch's last
    row). Ids grow in commit order (assignments of a job take turns on its row), so a socket drops an
    image's row older than one it already sent: two managers' frames that pass each other on the way
    still leave every page at the last one's seats."""
    last_change: dict[int, int] = {}
    for change in record:  # ids are set by bulk_create on PostgreSQL; elsewhere read back
        last_change[change.item_id] = max(last_change.get(change.item_id, 0), change.pk or 0)
    if not all(last_change.values()):
        last_change = dict(
            AssignmentChange.objects.filter(batch=batch)
            .values("item_id")
            .annotate(last=Max("id"))
            .values_list("item_id", "last")
        )
    who = getattr(by, "pk", None)
    body: dict[str, Any] = {
        "by": {"id": who, "username": by.get_username()} if who else None,
        "batch": str(batch),
        "changed": len(record),
        "change": max(last_change.values()),
        "items": None,
    }
    if len(rows) > FRAME_ITEMS:
        return body
    user_ids = {row.annotator_id for row in rows} | {row.reviewer_id for row in rows}
    names = dict(User.objects.filter(pk__in=user_ids - {None}).values_list("pk", "username"))
    body["items"] = [
        {
            "id": row.item_id,
            "assignee": row.annotator_id,
            "assignee_name": names.get(row.annotator_id),
            "reviewer": row.reviewer_id,
            "reviewer_name": names.get(row.reviewer_id),
            "change": last_change[row.item_id],
        }
        for row in sorted(rows, key=lambda row: row.item_id)
    ]
    return body


def on_member_changed(
    sender: Any, *, job: LabelingJob, user_id: int, role: str | None, by: Any, **kwargs: Any
) -> None:
    """labeling's member_changed signal, inside the transaction that removes a member, changes their
    role or deactivates their account, with the job's row held (the lock assign() takes first): every
    seat of the job they held that their role no longer allows (both, once removed or deactivated)
    goes to nobody. It is recorded as any assignment is
    (AssignmentChange rows by whoever made the change, one batch) and the job's pages get the
    `assignments` frame after the commit, so the images are offered by "next" to the others at once,
    instead of stalling as "assigned to someone else" until a manager reassigns them.

    The image "next" holds for them (their NextClaim) is let go whenever the new role lost a kind of
    work, not only when they are removed or deactivated: a claim does not record whether it was asked
    for labeling or for review, and the role it was asked under may have done the work now lost (an
    annotator made reviewer held an image to label; a manager made annotator may have held one to
    review). Letting go of a claim still good costs its holder nothing but the hold (their page, once
    open, stands for them); keeping one that is not would keep the image from the others for a minute. A
    role that lost nothing (made manager) keeps its claim."""
    lost = [seat for seat, roles in SEAT_ROLES.items() if role not in roles]
    if not lost:
        return
    NextClaim.objects.filter(job=job, user_id=user_id).delete()
    held = Q()
    for seat in lost:
        held |= Q(**{f"{seat}_id": user_id})
    rows = list(
        Assignment.objects.select_for_update()
        .filter(held, job=job)
        .order_by("item_id")
        .values_list("item_id", "annotator_id", "reviewer_id")
    )
    if not rows:
        return
    seats = [
        {seat: None for seat in lost if (annotator if seat == AssignRole.ANNOTATOR else reviewer) == user_id}
        for _, annotator, reviewer in rows
    ]
    _write(job, by, [item_id for item_id, _, _ in rows], seats, uuid.uuid4())


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
    """labeling's item_presence signal: keep one row per open item socket. A socket that opens an image
    "next" held for its user ends the claim: the socket's row stands for them now, and goes when they
    leave (a claim would keep the image from the others for a minute after they left)."""
    if what == "left":
        ItemPresence.objects.filter(channel=channel).delete()
        return
    ItemPresence.objects.update_or_create(
        channel=channel, defaults={"item_id": item_id, "user_id": user_id, "seen_at": timezone.now()}
    )
    if what == "joined":
        NextClaim.objects.filter(user_id=user_id, item_id=item_id).delete()


def presence_fresh_after() -> Any:
    """Rows seen before this belong to sockets gone without a word (a process that died): any open
    socket is heard from within the websocket idle timeout, or it is closed."""
    return timezone.now() - timedelta(seconds=settings.POLYLOG["WS_IDLE_SECONDS"] + 60)


def claim_fresh_after() -> Any:
    """Claims made before this have lapsed: their holder never opened the image."""
    return timezone.now() - timedelta(seconds=CLAIM_SECONDS)


def _present(me: Any) -> QuerySet[ItemPresence]:
    return ItemPresence.objects.filter(seen_at__gte=presence_fresh_after()).exclude(user_id=me.pk)


def _claimed(me: Any) -> QuerySet[NextClaim]:
    return NextClaim.objects.filter(claimed_at__gte=claim_fresh_after()).exclude(user_id=me.pk)


def job_item_ids(job: LabelingJob, item_ids: Iterable[int]) -> list[int]:
    """Those of `item_ids` that are images of the job, not deleted."""
    return list(
        Item.objects.filter(job=job, pk__in=list(item_ids), deleted_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


def others_on(item_ids: list[int], me: Any) -> dict[int, list[dict[str, Any]]]:
    """item id -> the other people who have it open now, or were just sent to it (id and username)."""
    rows = [
        *_present(me).filter(item_id__in=item_ids).values_list("item_id", "user_id", "user__username"),
        *_claimed(me).filter(item_id__in=item_ids).values_list("item_id", "user_id", "user__username"),
    ]
    out: dict[int, list[dict[str, Any]]] = {}
    for item_id, user_id, name in sorted(set(rows)):
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


def _one_pick_at_a_time(job: LabelingJob) -> None:
    """Hold, until the transaction ends, the job's lock for handing out images: two people pressing Start
    at once take turns, and the second sees the first one's claim. On PostgreSQL a transaction-level
    advisory lock (the job's row is held by a sync or a split for seconds; this is held for
    milliseconds); SQLite's transactions take the write lock at BEGIN (settings: IMMEDIATE), which is
    the same turn."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [NEXT_LOCK_SPACE, job.pk])


def work_require(role: str | None, work: str, job_id: int) -> None:
    """The user's role in the job may do the work "next" is asked for: 404 `not_found` for no role (not
    a member, or a deactivated account: ids leak nothing), 403 `permission_denied` for a role that does
    not do it (SEAT_ROLES: an auditor neither, an annotator no review, a reviewer no labeling). The view
    asks it before calling next_item, and next_item again inside its transaction."""
    role_require(role, READ, f"job {job_id}")
    if role not in SEAT_ROLES[WORK_SEAT[work]]:
        doing = "label" if work == "label" else "review"
        raise ApiError(403, "permission_denied", f"Your role ({role}) may not {doing} images here.")


def next_item(*, job: LabelingJob, user: Any, work: str, join: bool) -> dict[str, Any]:
    """The next image for `user` to label or review: assigned to them first, then unassigned, each in id
    order; an image someone else has open, or was just sent to, is passed over unless `join`. 404
    `nothing_to_do` when none. The image found is held for the user (a NextClaim) until their page opens
    it or CLAIM_SECONDS pass, so two people asking at once are sent to different images; one who joins
    holds nothing (they chose to share). A claim stands for the user's last press: asking again moves
    it, and an answer of nothing ends it (the page they are on, if any, is their presence).

    Two queries that each stop at their first row: mine, driven by the assignments' (job, seat) index;
    then the unassigned, walking the job's waiting images in id order (the first ones usually qualify),
    so a click costs the same in a job of a million images.

    The user's membership and role are checked again in the transaction, as the view's check answers
    (work_require): the view checked them before, and a removal, a change of role or a deactivation
    may have committed since; then nothing is held, nothing given. The check comes after the claim is
    written, and the claim's write is what makes it hold on PostgreSQL: such a change holds the job's
    row FOR UPDATE and lets the member's claim go (on_member_changed). A claim moved or ended holds its
    row, which that change deletes: one waits for the other (one that deleted it first has committed
    when the check looks; one that comes later deletes what this commits). A new claim holds no row
    the change can see, so the job's row is taken in KEY SHARE (_claim), the lock the claim's foreign
    key would take at commit (Django's are deferred): it waits for a change holding the row, and one
    that comes later waits for this commit, then lets the claim go. Checked before the write, a change
    could commit between the check and the write. Holding the member's row instead would deadlock (a
    removal holds the job's row and waits for the member's; the new claim then waits for the job's);
    holding the job's row for every answer would wait on syncs and splits (the row held for seconds),
    which only a first claim in the job does, as it always did at commit. `join` holds nothing: its
    check is a plain read. SQLite's write lock, taken at BEGIN, makes the whole answer one turn."""
    with transaction.atomic():
        if not join:
            _one_pick_at_a_time(job)
        item, assigned_to_me = _next_found(job=job, user=user, work=work, join=join)
        if not join:
            _claim(job, user, item)
        work_require(job_role_now(user.pk, job.pk), work, job.pk)
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


def _claim(job: LabelingJob, user: Any, item: Item | None) -> None:
    """Hold the image for the user (None: hold nothing), in place of what they held in this job. A new
    claim takes the job's row in KEY SHARE now, not at commit, for next_item's check (its docstring)."""
    if item is None:
        NextClaim.objects.filter(user=user, job=job).delete()
        return
    _, created = NextClaim.objects.update_or_create(
        user=user, job=job, defaults={"item": item, "claimed_at": timezone.now()}
    )
    if created and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {LabelingJob._meta.db_table} WHERE id = %s FOR KEY SHARE", [job.pk]
            )


def _next_found(*, job: LabelingJob, user: Any, work: str, join: bool) -> tuple[Item | None, bool]:
    """The image next_item gives (None: nothing waits), and whether it is assigned to the user."""
    seat = WORK_SEAT[work]
    waiting = _waiting(job, work)
    if not join:
        waiting = waiting.exclude(Exists(_present(user).filter(item=OuterRef("pk")))).exclude(
            Exists(_claimed(user).filter(item=OuterRef("pk")))
        )
    # A join on the assignment's primary key (the item's id), whichever side the planner starts from: an
    # `IN (subquery)` here was planned, on fresh statistics, as a scan of my assignments per waiting image.
    item = (
        waiting.filter(**{f"assignment__{seat}_id": user.pk}).select_related("image").order_by("id").first()
    )
    if item is not None:
        return item, True
    taken = Assignment.objects.filter(item=OuterRef("pk"), **{f"{seat}__isnull": False})
    return waiting.exclude(Exists(taken)).select_related("image").order_by("id").first(), False
