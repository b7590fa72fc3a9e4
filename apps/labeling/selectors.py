"""Reads of the labeling core: job and item lists (from read models), item state and events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.common.errors import ApiError
from apps.datasets.search import path_contains

from . import readmodels, store
from .domain import ItemState, Rejected
from .domain.attributes import CHECKBOX, NUMBER, parse_declarations
from .models import (
    VOID_LABEL,
    Item,
    ItemAttribute,
    ItemLabel,
    ItemStatus,
    JobTally,
    LabelClass,
    LabelingJob,
    StoredEvent,
)


@dataclass(frozen=True)
class ItemListHook:
    """How an app built on labeling extends the items list without labeling importing it (the layering
    of tests/unit/test_layering.py). `apply(queryset, job, query, user)` filters by the app's own
    parameters (`params`, declared in ItemListQuerySerializer); the count of a list with any of them set
    is counted from the rows (the tallies know nothing of them). `decorate(items)` sets the app's own
    attributes on the items of one page (ItemSerializer's fields that read them), in one query: a queued
    export iterating a whole job never pays for them."""

    params: tuple[str, ...]
    apply: Callable[[QuerySet[Item], LabelingJob, dict[str, Any], Any], QuerySet[Item]]
    decorate: Callable[[list[Item]], None]


# Registered at start by the apps above labeling (apps/review: assignments), in their AppConfig.ready.
item_list_hooks: list[ItemListHook] = []


def job_list(*, user: Any) -> QuerySet[LabelingJob]:
    qs = LabelingJob.objects.select_related("dataset").prefetch_related("label_classes")
    if not user.is_staff:
        qs = qs.filter(memberships__user=user)
    # From the tallies (see JobTally): counting the items of every job listed costs O(all items).
    tallies = JobTally.objects.filter(job=OuterRef("pk"))
    return qs.annotate(
        item_total=Coalesce(Subquery(tallies.filter(key=readmodels.ITEMS).values("count")[:1]), 0),
        item_labeled=Coalesce(Subquery(tallies.filter(key=readmodels.LABELED).values("count")[:1]), 0),
    )


def item_list(
    *,
    job: LabelingJob,
    status: str | None = None,
    hard_example: bool | None = None,
    label_class_ids: list[int] | None = None,
    q: str | None = None,
    labeled_by: int | None = None,
    attributes: list[dict[str, Any]] | None = None,
    review: str | None = None,
    ordering: str = "id",
) -> QuerySet[Item]:
    qs = Item.objects.filter(job=job, deleted_at__isnull=True).select_related("image", "labeled_by")
    if status in (ItemStatus.LABELED, ItemStatus.UNLABELED):
        qs = qs.filter(status=status)
    if hard_example is not None:
        qs = qs.filter(hard_example=hard_example)
    if label_class_ids:
        slots = store.label_slots(job.pk, label_class_ids)
        if all(slots.get(label) is not None for label in label_class_ids):
            # One bit test per item row instead of a look-up in ItemLabel (see LabelClass.slot).
            mask = readmodels.label_bits(label_class_ids, slots)
            qs = qs.alias(label_hit=F("label_bits").bitand(mask)).filter(label_hit__gt=0)
        else:
            held = ItemLabel.objects.filter(item=OuterRef("pk"), label_class_id__in=label_class_ids)
            qs = qs.filter(Exists(held))
    for attribute in attributes or ():  # every one holds (each is its own EXISTS: may be other shapes)
        qs = qs.filter(_attribute_holds(job, attribute))
    if q:
        # An image's name is its path's last part (both ways images are made set it so): searching the
        # path finds every name too (docs/performance.md). Through the path's tokens where q has a rare
        # one bounded on both sides, else the trigram index (apps/datasets/search.py).
        qs = qs.filter(path_contains(q, "image"))
    if labeled_by is not None:
        qs = qs.filter(labeled_by_id=labeled_by)
    if review is not None:  # issue 24: the job page's review tabs (index item_review_in_job)
        qs = qs.filter(review_status=review)
    return qs.order_by(ordering, "id")


def _listed(attribute: list[dict[str, Any]] | dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The attribute filters of a query; an export queued before several were allowed stored one."""
    return [attribute] if isinstance(attribute, dict) else attribute


def _attribute_holds(job: LabelingJob, attribute: dict[str, Any]) -> Q:
    """Items with a closed shape of the label class whose attribute reads the value: one carrying it
    (ItemAttribute), or, when the value is the declared default, one carrying no value for it (the
    class's shapes outnumber those with a value). Refuses, as a 400, a label class not of the job, an
    attribute it does not declare, or a value that attribute cannot take."""
    label_class_id = attribute["label_class"]
    raw = LabelClass.objects.filter(job=job, pk=label_class_id).values_list("attributes", flat=True).first()
    if raw is None:
        raise ApiError(400, "invalid_request", f"attribute: the job has no label class {label_class_id}.")
    try:
        declared = parse_declarations(raw or [])
    except Rejected:
        declared = ()
    rest = attribute["name_and_value"]
    named = [spec for spec in declared if rest.startswith(spec.name + "=")]
    if not named:
        names = ", ".join(repr(spec.name) for spec in declared)[:200] or "none"
        raise ApiError(
            400,
            "invalid_request",
            f"attribute: label class {label_class_id} declares no attribute named so (it has {names}).",
        )
    spec = max(named, key=lambda spec: len(spec.name))
    text = rest[len(spec.name) + 1 :]
    value: Any = text
    if spec.kind == CHECKBOX:
        value = {"true": True, "false": False}.get(text.lower(), text)
    elif spec.kind == NUMBER:
        try:
            value = float(text)
        except ValueError:
            value = text
    if spec.kind in (CHECKBOX, NUMBER):
        try:
            spec.check(value)
        except Rejected:
            takes = "true or false" if spec.kind == CHECKBOX else "a number"
            raise ApiError(
                400, "invalid_request", f"attribute: {spec.name!r} takes {takes}, not {text[:60]!r}."
            ) from None
    key = readmodels.attribute_value_key(value)
    of_attribute = ItemAttribute.objects.filter(
        item=OuterRef("pk"), label_class_id=label_class_id, name=spec.name
    )
    holds = Q(Exists(of_attribute.filter(value=key)))
    if key == readmodels.attribute_value_key(spec.default):
        # Inside the ItemLabel row's subquery: its item's shapes of the class that carry a value.
        with_value = (
            ItemAttribute.objects.filter(item=OuterRef("item"), label_class_id=label_class_id, name=spec.name)
            .order_by()
            .values("item")
            .annotate(total=Sum("shape_count"))
            .values("total")
        )
        unset = ItemLabel.objects.filter(
            item=OuterRef("pk"),
            label_class_id=label_class_id,
            shape_count__gt=Coalesce(Subquery(with_value), 0),
        )
        holds |= Q(Exists(unset))
    return holds


def item_list_for(job: LabelingJob, query: dict[str, Any], user: Any = None) -> QuerySet[Item]:
    """`item_list` with the validated query of the items list (ItemListQuerySerializer), extended by the
    registered hooks (`user` is whom a hook's "me" means; None where nobody asks, e.g. a queued export)."""
    qs = item_list(
        job=job,
        status=query["status"],
        hard_example=query["hard_example"],
        label_class_ids=query.get("label_class"),
        q=query.get("q"),
        labeled_by=query.get("labeled_by"),
        attributes=_listed(query.get("attribute")),
        review=query.get("review"),
        ordering=query.get("ordering", "id"),
    )
    for hook in item_list_hooks:
        qs = hook.apply(qs, job, query, user)
    return qs


def export_items(job: LabelingJob, query: dict[str, Any]) -> QuerySet[Item]:
    """The items an export of the job holds: the list's, less the items over images of another dataset
    than the job's (apps/review's ground-truth copies, a second item over a twin of an image already in
    the job): a training set holds each image once, as its accepted labels."""
    return item_list_for(job, query).filter(image__dataset_id=job.dataset_id)


def item_page_decorate(items: list[Item]) -> list[Item]:
    """The page's items with the registered hooks' attributes set (see ItemListHook)."""
    for hook in item_list_hooks:
        hook.decorate(items)
    return items


def item_list_count(*, job_id: int, query: dict[str, Any]) -> int | None:
    """The number of items `item_list_for(job, query)` lists, from the job's tallies when one tally
    answers it (no filter, or one of: a status, hard_example, one label class, labeled_by, a review
    status), so a page of
    a million-item job costs no COUNT(*) over the job; None when only counting the rows can tell."""
    status = (
        query.get("status") if query.get("status") in (ItemStatus.LABELED, ItemStatus.UNLABELED) else None
    )
    labels = query.get("label_class") or []
    given = {
        "status": status,
        "hard_example": query.get("hard_example"),
        "label_class": labels or None,
        "q": query.get("q") or None,
        "labeled_by": query.get("labeled_by"),
        "attribute": query.get("attribute"),
        "review": query.get("review"),
    }
    given = {name: value for name, value in given.items() if value is not None}
    if len(given) > 1 or "q" in given or "attribute" in given or len(labels) > 1:
        return None
    if any(query.get(param) is not None for hook in item_list_hooks for param in hook.params):
        return None
    tally = readmodels.job_tally_read(job_id)
    total = tally.get(readmodels.ITEMS, 0)
    if status is not None:
        labeled = tally.get(readmodels.LABELED, 0)
        return labeled if status == ItemStatus.LABELED else total - labeled
    if "hard_example" in given:
        hard = tally.get(readmodels.HARD, 0)
        return hard if given["hard_example"] else total - hard
    if labels:
        return tally.get(readmodels.label_key(labels[0]), 0)
    if "labeled_by" in given:
        return tally.get(readmodels.labeler_key(given["labeled_by"]), 0)
    if "review" in given:
        return _review_counts(tally, total)[given["review"]]
    return total


def _review_counts(tally: dict[str, int], total: int) -> dict[str, int]:
    """Items per review status, from the tallies: "none" is the items the others leave."""
    counts = {
        str(status): tally.get(readmodels.review_key(status), 0) for status in readmodels.REVIEW_COUNTED
    }
    return {"none": total - sum(counts.values()), **counts}


def job_counts(*, job_id: int) -> dict[str, Any]:
    """Per-status-tab, per-review-tab and per-label image counts of a job, from its tallies (see JobTally)."""
    tally = readmodels.job_tally_read(job_id)
    total, labeled = tally.get(readmodels.ITEMS, 0), tally.get(readmodels.LABELED, 0)
    prefix = readmodels.label_key(0)[:-1]
    # Void regions are no class of objects: the per-label counts leave their label class out.
    void = {
        str(pk)
        for pk in LabelClass.objects.filter(job_id=job_id, name=VOID_LABEL).values_list("pk", flat=True)
    }
    return {
        "status_counts": {"all": total, "unlabeled": total - labeled, "labeled": labeled},
        # Issue 24: the job page's review tabs (To review, Accepted, Rejected), live like the others.
        "review_counts": {k: n for k, n in _review_counts(tally, total).items() if k != "none"},
        "label_counts": {
            key.removeprefix(prefix): n
            for key, n in tally.items()
            if key.startswith(prefix) and n and key.removeprefix(prefix) not in void
        },
    }


def item_state_get(*, item: Item, at_seq: int | None = None, at_time: datetime | None = None) -> ItemState:
    """The item's state now, at a seq, or at a time (as of the last event at or before it)."""
    if at_time is not None:
        found = (
            StoredEvent.objects.filter(item_id=item.pk, created_at__lte=at_time)
            .order_by("-seq")
            .values_list("seq", flat=True)
            .first()
        )
        at_seq = found or 0
    if at_seq is not None:
        if at_seq > item.last_seq:
            raise ApiError(
                400, "invalid_request", f"at_seq {at_seq} is past the stream's end ({item.last_seq})."
            )
        if at_seq < item.last_seq:
            return store.state_load(item.pk, item.image.width, item.image.height, at_seq)
    cached = store.state_cache.get(item.pk, item.last_seq)
    return (
        cached.state
        if cached is not None
        else store.state_load(item.pk, item.image.width, item.image.height, item.last_seq)
    )


def item_events(*, item: Item, after: int, limit: int) -> list[dict[str, Any]]:
    rows = (
        StoredEvent.objects.filter(item_id=item.pk, seq__gt=after)
        .select_related("actor")
        .only("seq", "type", "payload", "actor_id", "actor__username", "created_at")
        .order_by("seq")[:limit]
    )
    return [store.event_dict(row, row.actor.username) for row in rows]
