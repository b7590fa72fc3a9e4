"""Websocket consumers for live collaboration (DESIGN sections 4 and 8): parse a frame, call one service, reply.

What every socket shares (JSON frames, error replies, limits, the idle timeout) is apps/common/websocket.py;
the order of an item socket's events is `delivery.EventDelivery`; commands go through the same envelope
parser and the same service, which authorises them, as REST (docs/events.md, "The command path").
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

from apps.accounts.websocket import credentials_current
from apps.common import metrics
from apps.common.errors import ApiError
from apps.common.websocket import (
    CLOSE_ACCESS_REVOKED,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    FrameHandler,
    JsonFrameConsumer,
    TokenBucket,
    limits,
)

from . import live, store
from .delivery import CATCH_UP_PAGE, EventDelivery, LastSent
from .domain import Rejected
from .domain.envelope import InvalidEnvelope, parse_command_envelope
from .models import Item
from .permissions import RANK, job_role_now
from .presence import PresenceMixin, user_info
from .services import item_command_handle
from .services.items import item_deletion_told

log = logging.getLogger(__name__)

__all__ = ["CLOSE_ACCESS_REVOKED", "ItemConsumer", "JobConsumer"]

# Commands of all sockets of a process run on a few threads of their own (each with its own database
# connection), so that a slow command of one socket does not hold the others' (Channels' default runs
# every database call of the process on one thread). Few: Python runs one thread at a time, and more than
# it takes to cover the database's round trips only make commands share the interpreter unfairly (under
# the two-process load, 6 threads doubled the p99 of 2). Raise POLYLOG_WS_COMMAND_THREADS when the
# database is far away. The loop's run_in_executor hands them over: asgiref's database_sync_to_async
# around it cost about a tenth of the servers' CPU per command under the load (docs/performance.md).
command_threads = ThreadPoolExecutor(settings.POLYLOG["WS_COMMAND_THREADS"], thread_name_prefix="command")

# How many images a job socket remembers what it last sent of (an item frame's seq, an assignments row's
# change), to drop a frame that arrives after a newer one of the same image. Frames pass each other only
# when they were broadcast moments apart, so the images sent most recently are the ones that need it; a
# page open for days over a large job would otherwise keep a row per image it ever heard of (about 150
# bytes each). 2,048 covers four assignments frames of 500 images each (docs/protocol.md).
JOB_SOCKET_ITEMS_KEPT = 2048


@database_sync_to_async
def _item_job(item_id: int) -> int | None:
    return Item.objects.filter(pk=item_id).values_list("job_id", flat=True).first()


@database_sync_to_async
def _role(user: Any, job_id: int) -> str | None:
    return job_role_now(user.pk, job_id)


@database_sync_to_async
def _role_still_granted(scope: dict[str, Any], job_id: int) -> str | None:
    """The socket user's role now, or None when what authenticated the socket no longer holds (its
    token revoked or expired, its session ended by a password change)."""
    return job_role_now(scope["user"].pk, job_id) if credentials_current(scope) else None


@database_sync_to_async
def _last_seq(item_id: int) -> int | None:
    return store.item_last_seq(item_id)


@database_sync_to_async
def _events_after(item_id: int, after: int, upto: int | None = None) -> list[dict[str, Any]]:
    # The same form as live events (section 8 of the design); REST adds actor_name, the socket does not.
    return store.events_after(item_id, after, CATCH_UP_PAGE, upto)


def _command_handle_sync(**command: Any) -> tuple[int, live.Batch]:
    """The service decides and authorises (the role as stored now, at every command: the socket's user
    object is as old as the socket). The broadcasts' messages are built here, in the worker thread (the
    job's counts, when they changed, are a database read), for the consumer to send from its loop."""
    result = item_command_handle(**command)
    try:
        broadcasts = live.messages(result.broadcasts)
    except Exception:
        # The command is stored: its ack must go (an error would tell the client nothing was stored, and it
        # would take back what the server holds). As with every broadcast, the failure is logged: the
        # item's watchers catch up at its next event, the job's pages at their next change.
        log.exception("item %s: the broadcast of seq %s could not be built", command["item_id"], result.seq)
        broadcasts = []
    return result.seq, broadcasts


async def _command_handle(**command: Any) -> tuple[int, live.Batch]:
    call = functools.partial(_with_connections, functools.partial(_command_handle_sync, **command))
    return await asyncio.get_running_loop().run_in_executor(command_threads, call)


def _with_connections(call: Callable[[], Any]) -> Any:
    """What database_sync_to_async does around a call: a connection the call leaves broken or past its
    age is closed, before the thread's next call uses it."""
    close_old_connections()
    try:
        return call()
    finally:
        close_old_connections()


class LiveConsumer(JsonFrameConsumer):
    """What item and job sockets share: the job's groups, and closing when the user's access falls."""

    group: str | None = None
    job_id: int

    async def open(self, group: str, job_id: int, role: str) -> None:
        self.group, self.job_id, self.role = group, job_id, role
        self.groups_joined = [group, live.labels_group(job_id), live.user_group(self.scope["user"].pk)]
        for name in self.groups_joined:
            await self.channel_layer.group_add(name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        for name in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(name, self.channel_name)

    async def access_changed(self, message: dict[str, Any]) -> None:
        """The user's membership, account or credentials changed: read the role again, and whether the
        token or session of the socket still holds; if either fell, nothing more of this job reaches the
        socket and it closes (a closed socket sends and stores nothing)."""
        if message["job_id"] not in (None, self.job_id) or self.revoked:
            return
        role = await _role_still_granted(self.scope, self.job_id)
        if role is not None and RANK[role] >= RANK[self.role]:
            return
        await self.error(
            "access_revoked",
            "Your access to this job changed (removed, a lower role, the account deactivated, or the"
            " sign-in that opened this socket revoked).",
        )
        self.revoked = True
        await self.close(code=CLOSE_ACCESS_REVOKED)

    async def label_classes(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "label_classes", "label_classes": message["label_classes"]})

    async def items_deleted(self, message: dict[str, Any]) -> None:
        """Images were deleted from the job: a job socket heard it as items_deleted already; an item
        socket says so when its image is one of them (ItemConsumer)."""


class ItemConsumer(PresenceMixin, LiveConsumer):
    """`/ws/items/<id>/`: catch-up and live events, commands, presence and cursors of one item."""

    lag_watch: asyncio.Future[None] | None = None

    async def connect(self) -> None:
        self.item_id = int(self.scope["url_route"]["kwargs"]["item_id"])
        self.user = self.scope.get("user")
        self.delivery = EventDelivery(self.send_event, self.read_after)
        self.active_at = 0.0  # when this item last showed activity to this socket
        self.present = {}
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        job_id = await _item_job(self.item_id)
        role = None if job_id is None else await _role(self.user, job_id)
        if job_id is None or role is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        budget = limits()
        self.commands = TokenBucket(budget["WS_COMMANDS_PER_SECOND"], budget["WS_COMMAND_BURST"])
        self.hellos = TokenBucket(1.0, 5)
        self.cursors = TokenBucket(budget["WS_CURSORS_PER_SECOND"], budget["WS_CURSORS_PER_SECOND"])
        await self.open(live.item_group(self.item_id), job_id, role)
        self.lag_watch = asyncio.ensure_future(self.watch_lag())
        self.present[self.channel_name] = user_info(self.user)
        await self.channel_layer.group_send(
            self.group,
            {"type": live.PRESENCE_JOIN, "channel": self.channel_name, "user": user_info(self.user)},
        )

    async def disconnect(self, code: int) -> None:
        self.delivery.close()
        for task in (self.lag_watch, self.cursor_flush):
            if task is not None:
                task.cancel()
        if self.group is not None:
            await self.channel_layer.group_send(
                self.group,
                {"type": live.PRESENCE_LEAVE, "channel": self.channel_name, "user": user_info(self.user)},
            )
        await super().disconnect(code)

    def frame_handlers(self) -> dict[str, FrameHandler]:
        return {
            "hello": self.on_hello,
            "command": self.on_command,
            "cursor": self.on_cursor,
            "ping": self.on_ping,
        }

    def wrong_target(self, frame: dict[str, Any]) -> tuple[str, str] | None:
        if "item_id" in frame and frame["item_id"] != self.item_id:
            return "wrong_item", f"This socket is for item {self.item_id}."
        return None

    async def refuse(self, frame: dict[str, Any], code: str, message: str) -> None:
        if frame["type"] == "command" and isinstance(frame.get("command_id"), str):
            await self.rejected(frame["command_id"], code, message)
        else:
            await self.error(code, message)

    # Client frames -------------------------------------------------------------------------------

    async def on_hello(self, frame: dict[str, Any]) -> None:
        # A catch-up can re-read a whole stream, so hellos have a budget of their own, and the reader must
        # still be a member (membership may have been withdrawn since the socket opened).
        if not self.hellos.take():
            await self.error("rate_limited", "Too many hellos; send it again in a second.")
            return
        if await _role(self.user, self.job_id) is None:
            await self.error("permission_denied", "You are no longer a member of this item's job.")
            await self.close(code=CLOSE_NOT_FOUND)
            return
        since = frame.get("since_seq", 0)
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            await self.error("invalid_frame", "hello.since_seq must be a non-negative integer.")
            return
        last = await _last_seq(self.item_id)
        if last is not None and since > last:
            # The client holds events this item never had (another server, a restored database): it
            # must reload rather than wait for seqs that would be skipped as already seen.
            await self.error(
                "since_seq_ahead", f"since_seq {since} is past the stream's end ({last}); reload."
            )
            return
        caught_up = await self.delivery.start(since)
        await self.send_json({"type": "caught_up", "seq": caught_up})
        # A page that connects (or reconnects, having missed the broadcast) to a deleted image learns it
        # here: who deleted it and when, after the history it may still read.
        deletion = await database_sync_to_async(item_deletion_told)(self.item_id)
        if deletion is not None:
            await self.send_json(live.item_deleted_frame(self.item_id, deletion))

    async def on_command(self, frame: dict[str, Any]) -> None:
        # The envelope is read as REST reads it. A frame without a usable command_id has nothing to be
        # answered by: an error frame. Any other command counts against the rate, refused or not.
        received = time.perf_counter()
        refusal: tuple[str, str] | None = None
        try:
            envelope = parse_command_envelope(frame)
        except InvalidEnvelope as bad:
            if bad.field == "command_id":
                await self.error("invalid_frame", bad.message)
                return
            refusal = ("invalid_command", bad.message)
        except Rejected as rejected:
            refusal = (rejected.code, rejected.message)
        command_id = frame["command_id"]
        if not self.commands.take():
            metrics.command_refused("ws", "rate_limited")
            rate = limits()["WS_COMMANDS_PER_SECOND"]
            await self.error(
                "rate_limited", f"At most {rate:g} commands a second; send it again.", command_id=command_id
            )
            return
        if refusal is not None:
            await self.rejected(command_id, *refusal)
            return
        try:
            seq, broadcasts = await _command_handle(
                item_id=self.item_id,
                actor_id=self.user.pk,
                command=envelope.command,
                command_id=command_id,
                expected_seq=envelope.expected_seq,
            )
        except Rejected as rejected:
            await self.rejected(command_id, rejected.code, rejected.message)
            return
        except ApiError as refused:
            # Not found, on a socket open on the item: its user is no longer a member of the job (the
            # socket is about to close); the service says so as REST does, the socket in its own words.
            if refused.status_code == 404:
                refused = ApiError(403, "permission_denied", "You are no longer a member of this item's job.")
            await self.rejected(command_id, refused.code, refused.message)
            return
        self.active_at = time.monotonic()
        await self.send_json({"type": "ack", "command_id": command_id, "seq": seq})
        metrics.command_acked("ws", time.perf_counter() - received)
        await live.send(broadcasts)

    async def rejected(self, command_id: str, code: str, message: str) -> None:
        metrics.command_refused("ws", code)
        await self.send_json({"type": "rejected", "command_id": command_id, "code": code, "message": message})

    # Events ----------------------------------------------------------------------------------------

    async def send_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "event", "event": event})

    async def read_after(self, after: int, upto: int | None) -> list[dict[str, Any]]:
        return await _events_after(self.item_id, after, upto)

    async def items_deleted(self, message: dict[str, Any]) -> None:
        if self.item_id in message["item_ids"]:
            await self.send_json(live.item_deleted_frame(self.item_id, message))

    async def item_events(self, message: dict[str, Any]) -> None:
        self.active_at = time.monotonic()
        await self.delivery.broadcast(message["events"])

    async def watch_lag(self) -> None:
        """While the item is active, compare with the store now and then: a broadcast the channel layer
        dropped (an overloaded process's inbox is bounded) is then read from the store, so no socket
        stays short of the stream's last events."""
        every = limits()["WS_LAG_CHECK_SECONDS"]
        while True:
            await asyncio.sleep(every)
            if not self.delivery.started or time.monotonic() - self.active_at > 10 * every:
                continue
            last = await _last_seq(self.item_id)
            if last is not None:
                await self.delivery.catch_up(last)


class JobConsumer(LiveConsumer):
    """`/ws/jobs/<id>/`: item statuses, per-status and per-label counts, new items after a sync, who is
    assigned to which images."""

    async def connect(self) -> None:
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        role = await _role(user, self.job_id)
        if role is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.item_seqs = LastSent(JOB_SOCKET_ITEMS_KEPT)  # item -> the seq of the last item frame sent
        self.assignment_changes = LastSent(JOB_SOCKET_ITEMS_KEPT)  # item -> the last assignment change sent
        self.assignments_reread = 0  # the last change a page was told to read its list for
        await self.open(live.job_group(self.job_id), self.job_id, role)

    def wrong_target(self, frame: dict[str, Any]) -> tuple[str, str] | None:
        if "job_id" in frame and frame["job_id"] != self.job_id:
            return "wrong_job", f"This socket is for job {self.job_id}."
        return None

    async def job_item(self, message: dict[str, Any]) -> None:
        # Commands of one item may broadcast from different threads or processes out of order: an
        # item frame older than one already sent would show a stale status.
        item = message["item"]
        if item["seq"] <= self.item_seqs.get(item["id"]):
            return
        self.item_seqs.set(item["id"], item["seq"])
        await self.send_json({"type": "item", "item": item})

    async def job_counts(self, message: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "counts",
                "status_counts": message["status_counts"],
                "review_counts": message["review_counts"],
                "label_counts": message["label_counts"],
            }
        )

    async def job_assignments(self, message: dict[str, Any]) -> None:
        # Two managers' frames may pass each other on the way (each is sent after its own commit): an
        # image's seats older than those already sent (a lower `change`) would show a stale assignee. A
        # frame too large to name its images makes the page read its list again, which holds every
        # change up to that frame's: rows older than it, arriving later, are stale too.
        frame = {"type": "assignments", **message["assignments"]}
        if frame["items"] is None:
            self.assignments_reread = max(self.assignments_reread, frame["change"])
        else:
            newer = [
                row
                for row in frame["items"]
                if row["change"] > max(self.assignment_changes.get(row["id"]), self.assignments_reread)
            ]
            if not newer:
                return
            for row in newer:
                self.assignment_changes.set(row["id"], row["change"])
            frame["items"] = newer
        await self.send_json(frame)

    async def job_items_deleted(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "items_deleted", "item_ids": message["item_ids"]})

    async def job_thumbnails(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "thumbnails", "items": message["items"]})

    async def job_export(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "export_progress", **message["progress"]})

    async def job_items_added(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "items_added", "added": message["added"], "total": message["total"]})
