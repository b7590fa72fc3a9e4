"""Live collaboration's one module for group names and message shapes, and the broadcast after commit.

Websocket consumers join `item_group(item_id)` and `job_group(job_id)`. A command's service returns what
it broadcasts (`ItemEvents`); its caller sends it after commit, so a command sent over REST reaches
websocket watchers too. The job-level changes (items added or deleted, label classes, access) come as
signals and are published here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from apps.common import metrics
from apps.common.embedded_layer import EmbeddedChannelLayer
from apps.datasets.signals import thumbnails_made

from .signals import items_deleted, job_items_added, label_classes_changed

log = logging.getLogger(__name__)
Batch = list[tuple[str, dict[str, Any]]]

# Channel-layer message types (the consumer method is the type with "." replaced by "_").
ITEM_EVENTS = "item.events"
PRESENCE_JOIN = "presence.join"
PRESENCE_HERE = "presence.here"
PRESENCE_LEAVE = "presence.leave"
CURSOR_MOVED = "cursor.moved"
JOB_ITEM = "job.item"
JOB_COUNTS = "job.counts"
JOB_ITEMS_ADDED = "job.items_added"
JOB_ITEMS_DELETED = "job.items_deleted"
ITEMS_DELETED = "items.deleted"  # to every socket of the job; item sockets of the images pass it on
JOB_THUMBNAILS = "job.thumbnails"
JOB_EXPORT = "job.export"
JOB_ASSIGNMENTS = "job.assignments"
LABEL_CLASSES = "label.classes"
ACCESS_CHANGED = "access.changed"


def item_group(item_id: int) -> str:
    return f"item.{item_id}"


def job_group(job_id: int) -> str:
    return f"job.{job_id}"


def labels_group(job_id: int) -> str:
    """Every socket of a job, item and job sockets alike: they all draw its label classes."""
    return f"labels.{job_id}"


def user_group(user_id: int) -> str:
    """Every socket of one user, of every job: told when that user's access may have shrunk."""
    return f"user.{user_id}"


async def send(batch: Batch) -> None:
    """Send messages to their groups in order, from the event loop (a websocket consumer sends its
    commands' broadcasts so). Like every broadcast, a failure is logged and not raised: the events are
    committed, and sockets that fall behind read the store."""
    layer = get_channel_layer()
    try:
        for group, message in batch:
            await layer.group_send(group, message)
            metrics.broadcast_sent(message["type"])
    except Exception:
        log.exception("broadcast to %s failed", [group for group, _ in batch])


def _publish(messages: Callable[[], Batch]) -> None:
    """Build the messages and send them, from a thread that is not the event loop's (a REST view, an
    import's worker, a script). With nobody listening (no consumer in this process on the embedded
    layer) nothing is built."""
    layer = get_channel_layer()
    if layer is None or (isinstance(layer, EmbeddedChannelLayer) and not layer.listening):
        return
    async_to_sync(send)(messages())


def _counts_message(job_id: int) -> tuple[str, dict[str, Any]]:
    from .selectors import job_counts

    return job_group(job_id), {"type": JOB_COUNTS, **job_counts(job_id=job_id)}


@dataclass(frozen=True, slots=True)
class ItemEvents:
    """What a command that appended events tells the open sockets: the item's watchers get the events,
    its job's pages the item's row when what they show of it changed (not at every vertex: a group send
    costs round trips to Redis even when no job page is open), and the job's counts when they moved.
    The service that wrote the events returns this; whoever called it sends it (`publish_on_commit`
    from a view, `messages` + `send` from a websocket consumer)."""

    item_id: int
    job_id: int
    events: list[dict[str, Any]]
    item: dict[str, Any]
    item_changed: bool = True
    counts_changed: bool = False

    def messages(self) -> Batch:
        """The channel-layer messages; reads the job's counts when they changed (after the commit)."""
        out = [(item_group(self.item_id), {"type": ITEM_EVENTS, "events": self.events})]
        if self.item_changed:
            out.append((job_group(self.job_id), {"type": JOB_ITEM, "item": self.item}))
        return [*out, _counts_message(self.job_id)] if self.counts_changed else out


def messages(broadcasts: Sequence[ItemEvents]) -> Batch:
    return [message for broadcast in broadcasts for message in broadcast.messages()]


def publish_on_commit(broadcasts: Sequence[ItemEvents]) -> None:
    """Send the broadcasts once the current transaction commits (at once outside one); never if it rolls
    back. robust: the events are committed, so a failed broadcast is logged, not raised."""
    if broadcasts:
        transaction.on_commit(lambda: _publish(lambda: messages(broadcasts)), robust=True)


def on_job_items_added(sender: Any, *, job_id: int, added: int, total: int, **kwargs: Any) -> None:
    _publish(
        lambda: [
            (job_group(job_id), {"type": JOB_ITEMS_ADDED, "added": added, "total": total}),
            _counts_message(job_id),
        ]
    )


def item_deleted_frame(item_id: int, deletion: dict[str, Any]) -> dict[str, Any]:
    """The item socket's item_deleted frame (docs/protocol.md), from on_items_deleted's message or
    services.items.item_deletion_told."""
    return {
        "type": "item_deleted",
        "item_id": item_id,
        "by": deletion["by"],
        "deleted_at": deletion["deleted_at"],
        "deletion_id": deletion["deletion_id"],
    }


def on_items_deleted(
    sender: Any, *, job_id: int, item_ids: list[int], deletion: dict[str, Any], **kwargs: Any
) -> None:
    """The job's pages drop the images; every socket of the job hears of it once (one message to the
    labels group, not one per image: a deletion of 10,000 images is one send), and an item socket open on
    one of them tells its page who deleted it (the item_deleted frame)."""
    _publish(
        lambda: [
            (job_group(job_id), {"type": JOB_ITEMS_DELETED, "item_ids": item_ids}),
            (labels_group(job_id), {"type": ITEMS_DELETED, "item_ids": item_ids, **deletion}),
            _counts_message(job_id),
        ]
    )


def on_thumbnails_made(sender: Any, *, dataset_id: int, image_ids: list[int], **kwargs: Any) -> None:
    """The queue made thumbnails of images that had none: every job over the dataset has its pages swap
    their placeholders for them."""
    from django.core.files.storage import default_storage

    from .models import Item

    def messages() -> Batch:
        by_job: dict[int, list[dict[str, Any]]] = {}
        rows = Item.objects.filter(
            job__dataset_id=dataset_id, image_id__in=image_ids, deleted_at__isnull=True
        ).values_list("job_id", "id", "image__thumbnail")
        for job_id, item_id, thumbnail in rows:
            if thumbnail:
                by_job.setdefault(job_id, []).append(
                    {"id": item_id, "thumbnail_url": default_storage.url(thumbnail)}
                )
        return [
            (job_group(job_id), {"type": JOB_THUMBNAILS, "items": items}) for job_id, items in by_job.items()
        ]

    _publish(messages)


def export_progress_publish(job_id: int, progress: dict[str, Any]) -> None:
    """How far a queued export of the job got (apps/interchange/exports.py), to the job's open pages:
    `progress` is the export_progress frame's body (export_id, done, total, status, download_url)."""
    _publish(lambda: [(job_group(job_id), {"type": JOB_EXPORT, "progress": progress})])


def assignments_publish(job_id: int, assignments: dict[str, Any]) -> None:
    """Who labels and who reviews which images of the job changed (apps/review/assignments.py, after its
    commit), to the job's open pages: `assignments` is the assignments frame's body (by, batch, changed,
    items)."""
    _publish(lambda: [(job_group(job_id), {"type": JOB_ASSIGNMENTS, "assignments": assignments})])


def on_label_classes_changed(sender: Any, *, job_id: int, **kwargs: Any) -> None:
    from .models import LabelClass

    def messages() -> list[tuple[str, dict[str, Any]]]:
        classes = list(
            LabelClass.objects.filter(job_id=job_id)
            .order_by("id")
            .values("id", "name", "color", "attributes")
        )
        return [(labels_group(job_id), {"type": LABEL_CLASSES, "label_classes": classes})]

    _publish(messages)


def access_changed_send(user_id: int, job_id: int | None) -> None:
    """After commit, tell the user's open sockets that their access to the job (None: to every job) may
    have shrunk: each reads the user's role again and closes if it fell (consumers.CLOSE_ACCESS_REVOKED)."""
    message = {"type": ACCESS_CHANGED, "job_id": job_id}
    transaction.on_commit(lambda: _publish(lambda: [(user_group(user_id), message)]))


def on_member_saved(sender: Any, *, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created:  # a new member gains access; a changed role may have lowered it
        access_changed_send(instance.user_id, instance.job_id)


def on_member_deleted(sender: Any, *, instance: Any, **kwargs: Any) -> None:
    access_changed_send(instance.user_id, instance.job_id)


def on_user_saved(sender: Any, *, instance: Any, created: bool, update_fields: Any, **kwargs: Any) -> None:
    # Deactivation, the loss of staff status and a password change (which ends the user's sessions and
    # tokens) end access; a login's last_login stamp changes nothing.
    if not created and not (update_fields and set(update_fields) <= {"last_login"}):
        access_changed_send(instance.pk, None)


def on_token_deleted(sender: Any, *, instance: Any, **kwargs: Any) -> None:
    # A logout (DELETE /api/auth/token/), or every token of a user at a password change: the sockets that
    # token opened close (the others check that theirs still holds, and stay).
    access_changed_send(instance.user_id, None)


def connect_signals() -> None:
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from .models import JobMember

    post_delete.connect(on_token_deleted, sender=AuthToken, dispatch_uid="live.token_deleted")
    post_save.connect(on_member_saved, sender=JobMember, dispatch_uid="live.member_saved")
    post_delete.connect(on_member_deleted, sender=JobMember, dispatch_uid="live.member_deleted")
    post_save.connect(on_user_saved, sender=get_user_model(), dispatch_uid="live.user_saved")
    label_classes_changed.connect(on_label_classes_changed, dispatch_uid="live.label_classes_changed")
    job_items_added.connect(on_job_items_added, dispatch_uid="live.job_items_added")
    items_deleted.connect(on_items_deleted, dispatch_uid="live.items_deleted")
    thumbnails_made.connect(on_thumbnails_made, dispatch_uid="live.thumbnails_made")
