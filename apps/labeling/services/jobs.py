"""Jobs, their label classes and members, and keeping a job's items in step with its dataset."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from apps.common.errors import ApiError
from apps.datasets.models import Dataset, Image

from .. import live, readmodels, store
from ..domain.commands import DeleteLabelShapes
from ..models import Item, ItemLabel, JobMember, JobTally, JobType, LabelClass, LabelingJob, Role
from ..readmodels import ITEMS, label_key
from ..signals import job_items_added, label_classes_changed, member_changed
from .commands import item_command_handle

# Item.label_bits is a signed 64-bit integer: bits 0-62 (see LabelClass.slot).
LABEL_SLOTS = 63


@transaction.atomic
def job_sync(*, job: LabelingJob, full: bool = False, since_image_id: int | None = None) -> dict[str, int]:
    """Create an item for every image of the job's dataset that has none yet. Idempotent. An image
    deleted from the job keeps its (hidden) item, so a sync does not bring it back.

    Only the images after the job's `synced_image_id` are read, so a sync costs what is new, not the
    dataset's size. Ids are given in insertion order but committed in any order: an image whose import
    commits after a sync went past its id is found by the `full` sync that its import sends after it
    commits (`jobs_sync_after_import`), over the images from that import's first (`since_image_id`) on."""
    # One sync of a job at a time, so what it counts as added is what it added.
    synced = (
        LabelingJob.objects.select_for_update().filter(pk=job.pk).values_list("synced_image_id", flat=True)
    ).first()
    images = Image.objects.filter(dataset_id=job.dataset_id)
    if not full:
        images = images.filter(pk__gt=synced or 0)
    elif since_image_id is not None:
        images = images.filter(pk__gte=since_image_id)
    has_item = Item.objects.filter(job_id=job.pk, image_id=OuterRef("pk"))
    added = _items_insert(job.pk, images.filter(~Exists(has_item)).order_by().values_list("pk"))
    store.job_tally_add(job.pk, {ITEMS: added})
    top = images.aggregate(top=Max("pk"))["top"]
    if top is not None and top > (synced or 0):
        LabelingJob.objects.filter(pk=job.pk).update(synced_image_id=top)
    # The count of shown items from the job's tally: counting them is O(items) (see JobTally).
    result = {"added": added, "total": readmodels.job_tally_read(job.pk).get(ITEMS, 0)}
    if added:
        transaction.on_commit(
            lambda: job_items_added.send(sender=LabelingJob, job_id=job.pk, **result), robust=True
        )
    return result


def _items_insert(job_id: int, image_ids: QuerySet[Image, tuple[int]] | list[int]) -> int:
    """An item in the job for each image the query selects (or of the ids given), in image order, in one
    INSERT ... SELECT: the rows never pass through Python (bulk_create prepared each row's fourteen values
    one by one, a quarter of an import's time). The other columns get their fields' defaults. How many
    were inserted."""
    now = timezone.now()
    columns: list[str] = []
    values: list[object] = []
    for field in Item._meta.concrete_fields:
        if field.primary_key or field.name in ("job", "image"):
            continue
        value = now if getattr(field, "auto_now_add", False) else field.get_default()
        columns.append(field.column)
        values.append(field.get_db_prep_save(value, connection))
    if isinstance(image_ids, list):  # an import's batch: its ids written out, no query to compile
        select, select_params = ", ".join(["%s"] * len(image_ids)), image_ids
    else:
        select, select_params = image_ids.query.sql_with_params()
    quote = connection.ops.quote_name
    job_column, image_column = Item._meta.get_field("job").column, Item._meta.get_field("image").column
    image_id = f"{quote(Image._meta.db_table)}.{quote(Image._meta.pk.column)}"
    sql = (
        f"INSERT INTO {quote(Item._meta.db_table)} "
        f"({', '.join(quote(c) for c in [job_column, image_column, *columns])}) "
        f"SELECT %s, {image_id}, {', '.join(['%s'] * len(values))} FROM {quote(Image._meta.db_table)} "
        f"WHERE {image_id} IN ({select}) ORDER BY {image_id} ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [job_id, *values, *select_params])
        return max(cursor.rowcount, 0)


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


# Image ids written into one INSERT (SQLite takes at most 32,766 values a statement).
_IDS_A_STATEMENT = 1000


def jobs_items_for_images(sender: Any, *, dataset_id: int, image_ids: list[int], **kwargs: Any) -> None:
    """A batch of an import's images registered: every job over the dataset gets their items, in the
    batch's transaction, while the import reads its next files (its end then has none of them to add).
    A job created meanwhile in a transaction that did not see this one is made whole by the sync at the
    import's end (jobs_sync_after_import), as before."""
    for job_id in LabelingJob.objects.filter(dataset_id=dataset_id).values_list("pk", flat=True):
        added = sum(
            _items_insert(job_id, image_ids[start : start + _IDS_A_STATEMENT])
            for start in range(0, len(image_ids), _IDS_A_STATEMENT)
        )
        if not added:
            continue
        store.job_tally_add(job_id, {ITEMS: added})
        result = {"added": added, "total": readmodels.job_tally_read(job_id).get(ITEMS, 0)}
        transaction.on_commit(
            lambda job_id=job_id, result=result: job_items_added.send(
                sender=LabelingJob, job_id=job_id, **result
            ),
            robust=True,
        )


def jobs_sync_after_import(
    sender: Any, *, dataset_id: int, first_image_id: int | None = None, **kwargs: Any
) -> None:
    """An import into a dataset synchronises every job over it (DESIGN section 5): over the images from
    the import's first on, which are all it can have added (ids only grow), not the whole dataset."""
    for job in LabelingJob.objects.filter(dataset_id=dataset_id):
        job_sync(job=job, full=True, since_image_id=first_image_id)


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
def label_class_create(
    *, job: LabelingJob, name: str, color: str, attributes: list[dict[str, Any]] | None = None
) -> LabelClass:
    _label_name_free(job.pk, name)
    # The job's row lock makes two creations pick different slots.
    LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
    used = set(LabelClass.objects.filter(job=job, slot__isnull=False).values_list("slot", flat=True))
    slot = next((n for n in range(LABEL_SLOTS) if n not in used), None)
    label_class = LabelClass.objects.create(
        job=job, name=name, color=color, slot=slot, attributes=attributes or []
    )
    _label_classes_changed(job.pk)
    return label_class


@transaction.atomic
def label_class_update(*, label_class: LabelClass, **fields: Any) -> LabelClass:
    """Rename, recolour or declare attributes. Changed declarations apply to the next set_attributes; the
    values shapes carry stay in their history (an attribute removed is no longer shown or exported)."""
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
        result = item_command_handle(
            item_id=item_id, actor_id=actor_id, command=DeleteLabelShapes(label_class_id=label_class.pk)
        )
        live.publish_on_commit(result.broadcasts)
    if ItemLabel.objects.filter(label_class=label_class).exists():
        raise ApiError(
            409, "label_class_in_use", f"Shapes labeled {label_class.name!r} appeared meanwhile; try again."
        )
    JobTally.objects.filter(job_id=label_class.job_id, key=label_key(label_class.pk)).delete()
    _label_classes_changed(label_class.job_id)
    label_class.delete()
    return {"items_changed": len(item_ids)}


@transaction.atomic
def job_member_set(*, job: LabelingJob, user: Any, role: str, by: Any = None) -> JobMember:
    """Add a member or change their role. The job's row is held first, as assignments hold it, so a
    change of role and an assignment take turns; the seats the new role cannot hold are released in the
    same transaction (member_changed)."""
    LabelingJob.objects.select_for_update().filter(pk=job.pk).first()
    current = JobMember.objects.select_for_update().filter(job=job, user=user).first()
    if current is not None and current.role == Role.MANAGER and role != Role.MANAGER:
        _keep_a_manager(current)
    member, _ = JobMember.objects.update_or_create(job=job, user=user, defaults={"role": role})
    if current is not None and current.role != role:
        member_changed.send(sender=JobMember, job=job, user_id=member.user_id, role=role, by=by)
    return member


def _keep_a_manager(member: JobMember) -> None:
    others = JobMember.objects.filter(job_id=member.job_id, role=Role.MANAGER).exclude(pk=member.pk)
    if not others.exists():
        raise ApiError(409, "last_manager", "A job keeps at least one manager.")


@transaction.atomic
def job_member_remove(*, member: JobMember, by: Any = None) -> None:
    """Remove a member (a job keeps one manager at least). Under the job's row, as job_member_set; the
    seats they held are released in the same transaction (member_changed), so their images are offered
    to the others at once."""
    job = LabelingJob.objects.select_for_update().filter(pk=member.job_id).first()
    current = JobMember.objects.select_for_update().filter(pk=member.pk).first()
    if current is None:  # removed meanwhile
        return
    if current.role == Role.MANAGER:
        _keep_a_manager(current)
    current.delete()
    member_changed.send(sender=JobMember, job=job, user_id=current.user_id, role=None, by=by)


@transaction.atomic
def job_members_deactivate(*, user_id: int, by: Any = None) -> int:
    """A person's account was deactivated (User.is_active False: Django admin's "Active" box, how a site
    admin takes someone off all work): in every job they are a member of, in job id order, under the
    job's row as a removal, member_changed says they do no more work (role None), so the seats they
    hold are emptied and recorded as a removal's, with the job's `assignments` frame. The memberships
    stay: an account made active again is a member in the same roles, with no seats. Returns how many
    jobs they are a member of."""
    job_ids = list(
        JobMember.objects.filter(user_id=user_id).order_by("job_id").values_list("job_id", flat=True)
    )
    for job_id in job_ids:
        job = LabelingJob.objects.select_for_update().filter(pk=job_id).first()
        if job is not None:
            member_changed.send(sender=JobMember, job=job, user_id=user_id, role=None, by=by)
    return len(job_ids)


def on_user_deactivated(sender: Any, *, user_id: int, by: Any = None, **kwargs: Any) -> None:
    """accounts' user_deactivated: job_members_deactivate."""
    job_members_deactivate(user_id=user_id, by=by)
