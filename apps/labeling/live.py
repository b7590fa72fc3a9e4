"""Live collaboration's one module for group names and message shapes, and the broadcast after commit.

Websocket consumers join `item_group(item_id)` and `job_group(job_id)`; the labeling core's signals are
turned into channel-layer messages here, so a command sent over REST reaches websocket watchers too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .signals import events_committed, items_deleted, job_items_added, label_classes_changed

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


# The event loop of this process's websocket consumers, noted when one opens: with the in-memory channel
# layer, a thread of its own (an import's worker) can only reach them by handing its sends to that loop.
_consumer_loop: asyncio.AbstractEventLoop | None = None


def consumer_loop_note(loop: asyncio.AbstractEventLoop) -> None:
    global _consumer_loop
    _consumer_loop = loop


def _in_server_loop() -> bool:
    """Whether this thread does sync work for a running ASGI event loop (a view or a consumer's database
    call under Daphne): the only place where consumers on an in-memory channel layer can listen."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    return loop is not None and loop.is_running()


_deferred = threading.local()


@contextmanager
def broadcasts_deferred() -> Iterator[Batch]:
    """Collect this thread's broadcasts instead of sending them: a websocket consumer sends them itself
    (`broadcasts_send`) once its database call is back on the event loop, which spares the worker
    thread a blocking hop into the loop and back for every command."""
    batch: Batch = []
    outer = getattr(_deferred, "batch", None)
    _deferred.batch = batch
    try:
        yield batch
    finally:
        _deferred.batch = outer


async def broadcasts_send(batch: Batch) -> None:
    """Send what `broadcasts_deferred` collected. Like every broadcast, a failure is logged and not
    raised: the events are committed, and sockets behind re-read the store."""
    layer = get_channel_layer()
    try:
        for group, message in batch:
            await layer.group_send(group, message)
    except Exception:
        log.exception("broadcast to %s failed", [group for group, _ in batch])


def _broadcast(messages: Callable[[], Batch]) -> None:
    """Send the messages to their groups in order, in one hop to the event loop."""
    layer = get_channel_layer()
    if layer is None:
        return
    deferred = getattr(_deferred, "batch", None)
    if deferred is not None:
        deferred.extend(messages())
        return
    handoff = isinstance(layer, InMemoryChannelLayer) and not _in_server_loop()
    loop = _consumer_loop
    if handoff and (loop is None or not loop.is_running()):
        return  # nobody can be listening: skip the work (a script, a test without a server, the bench)
    batch = messages()

    async def send_all() -> None:
        for group, message in batch:
            await layer.group_send(group, message)

    if not handoff:
        async_to_sync(send_all)()
        return
    assert loop is not None
    # The in-memory layer belongs to its loop's thread: run the sends there, and wait for them so that
    # broadcasts from this thread keep their order.
    asyncio.run_coroutine_threadsafe(send_all(), loop).result(timeout=10)


def _counts_message(job_id: int) -> tuple[str, dict[str, Any]]:
    from .selectors import job_counts

    return job_group(job_id), {"type": JOB_COUNTS, **job_counts(job_id=job_id)}


def on_events_committed(
    sender: Any,
    *,
    item_id: int,
    job_id: int,
    events: list[dict[str, Any]],
    item: dict[str, Any],
    item_changed: bool = True,
    counts_changed: bool = False,
    **kwargs: Any,
) -> None:
    def messages() -> Batch:
        out = [(item_group(item_id), {"type": ITEM_EVENTS, "events": events})]
        # Job sockets hear of the item when what they show of it changed, not at every vertex: a group
        # send costs round trips to Redis even when no job page is open.
        if item_changed:
            out.append((job_group(job_id), {"type": JOB_ITEM, "item": item}))
        return [*out, _counts_message(job_id)] if counts_changed else out

    _broadcast(messages)


def on_job_items_added(sender: Any, *, job_id: int, added: int, total: int, **kwargs: Any) -> None:
    _broadcast(
        lambda: [
            (job_group(job_id), {"type": JOB_ITEMS_ADDED, "added": added, "total": total}),
            _counts_message(job_id),
        ]
    )


def on_items_deleted(sender: Any, *, job_id: int, item_ids: list[int], **kwargs: Any) -> None:
    _broadcast(
        lambda: [
            (job_group(job_id), {"type": JOB_ITEMS_DELETED, "item_ids": item_ids}),
            _counts_message(job_id),
        ]
    )


def on_label_classes_changed(sender: Any, *, job_id: int, **kwargs: Any) -> None:
    from .models import LabelClass

    def messages() -> list[tuple[str, dict[str, Any]]]:
        classes = list(LabelClass.objects.filter(job_id=job_id).order_by("id").values("id", "name", "color"))
        return [(labels_group(job_id), {"type": LABEL_CLASSES, "label_classes": classes})]

    _broadcast(messages)


def access_changed_send(user_id: int, job_id: int | None) -> None:
    """After commit, tell the user's open sockets that their access to the job (None: to every job) may
    have shrunk: each reads the user's role again and closes if it fell (consumers.CLOSE_ACCESS_REVOKED)."""
    message = {"type": ACCESS_CHANGED, "job_id": job_id}
    transaction.on_commit(lambda: _broadcast(lambda: [(user_group(user_id), message)]))


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
    events_committed.connect(on_events_committed, dispatch_uid="live.events_committed")
    job_items_added.connect(on_job_items_added, dispatch_uid="live.job_items_added")
    items_deleted.connect(on_items_deleted, dispatch_uid="live.items_deleted")
