"""Live collaboration's one module for group names and message shapes, and the broadcast after commit.

Websocket consumers join `item_group(item_id)` and `job_group(job_id)`; the labeling core's signals are
turned into channel-layer messages here, so a command sent over REST reaches websocket watchers too.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .signals import events_committed, job_items_added

# Channel-layer message types (the consumer method is the type with "." replaced by "_").
ITEM_EVENTS = "item.events"
PRESENCE_JOIN = "presence.join"
PRESENCE_HERE = "presence.here"
PRESENCE_LEAVE = "presence.leave"
CURSOR_MOVED = "cursor.moved"
JOB_ITEM = "job.item"
JOB_COUNTS = "job.counts"
JOB_ITEMS_ADDED = "job.items_added"


def item_group(item_id: int) -> str:
    return f"item.{item_id}"


def job_group(job_id: int) -> str:
    return f"job.{job_id}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def on_events_committed(
    sender: Any,
    *,
    item_id: int,
    job_id: int,
    events: list[dict[str, Any]],
    item: dict[str, Any],
    counts_changed: bool = False,
    **kwargs: Any,
) -> None:
    _send(item_group(item_id), {"type": ITEM_EVENTS, "events": events})
    _send(job_group(job_id), {"type": JOB_ITEM, "item": item})
    if counts_changed:
        from .selectors import job_counts

        _send(job_group(job_id), {"type": JOB_COUNTS, **job_counts(job_id=job_id)})


def on_job_items_added(sender: Any, *, job_id: int, added: int, total: int, **kwargs: Any) -> None:
    _send(job_group(job_id), {"type": JOB_ITEMS_ADDED, "added": added, "total": total})
    from .selectors import job_counts

    _send(job_group(job_id), {"type": JOB_COUNTS, **job_counts(job_id=job_id)})


def connect_signals() -> None:
    events_committed.connect(on_events_committed, dispatch_uid="live.events_committed")
    job_items_added.connect(on_job_items_added, dispatch_uid="live.job_items_added")
