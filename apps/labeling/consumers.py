"""Websocket consumers for live collaboration (DESIGN sections 4 and 8): thin, parse -> service -> reply.

Frames are JSON objects with a `type`. Every malformed frame is answered with an `error` frame and the
connection stays usable; commands go through the same parser and service as REST.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.sessions import InstanceSessionWrapper
from django.conf import settings
from django.db import close_old_connections

from apps.accounts.websocket import credentials_current
from apps.common.errors import ApiError

from . import live, store
from .domain import Rejected
from .domain.commands import InvalidEnvelope, parse_command_envelope
from .models import Item
from .permissions import RANK, job_role_now
from .services import CommandResult, item_command_handle

log = logging.getLogger(__name__)

CATCH_UP_PAGE = 500
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_IDLE = 4408
CLOSE_MESSAGE_TOO_BIG = 1009
# The user's access to the job shrank while the socket was open (removed from the job, a lower role,
# deactivated, no longer staff): the socket closes at once; a client may connect again with what is left.
CLOSE_ACCESS_REVOKED = 4403


def _limits() -> dict[str, Any]:
    return settings.POLYLOG


class TokenBucket:
    """`rate` tokens a second up to `burst`; `take()` says whether one was available."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _user_info(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.get_username()}


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


def _role_checked_handle(*, user: Any, item_id: int, **command: Any) -> tuple[CommandResult, live.Batch]:
    """The role is checked again for every command, in the item's head read, as stored now (the socket's
    user object is as old as the socket; staff manage every job, an inactive user nothing). The
    broadcasts of the command come back with its result, for the consumer to send from its loop."""
    result = item_command_handle(item_id=item_id, actor_id=user.pk, check_role=True, **command)
    # Built here, in the worker thread: the job's counts, when they changed, are a database read.
    return result, live.messages(result.broadcasts)


class CommandThreads:
    """Commands of different connections run in a few threads of their own (each with its own database
    connection), in arrival order; one connection's frames are handled one after another.

    Few threads: Python runs one at a time, so more than it takes to cover the database's round trips only
    make the commands share the interpreter unfairly (under the two-process load, 6 threads doubled the
    p99 of 2, at the same throughput). Raise POLYLOG_WS_COMMAND_THREADS when the database is far away.

    Leaner than the loop's run_in_executor, which is paid at every command: that makes a concurrent
    Future (with a lock and a condition of its own) and chains it to an asyncio one, and asgiref's
    sync_to_async also copies context variables around the call, which these calls don't need. Here a
    call's outcome is set on the asyncio future from the loop's side. The threads are daemons: a command
    still running when the server stops is not acked, and its client sends it again (same command_id)."""

    def __init__(self, count: int, name: str) -> None:
        self.count, self.name = count, name
        self.calls: queue.SimpleQueue[
            tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[[], Any]]
        ]
        self.calls = queue.SimpleQueue()
        self.started = False
        self.starting = threading.Lock()

    def run(self, call: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run `call()` in one of the threads; the future has its result or its exception."""
        if not self.started:
            self._start()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.calls.put((loop, future, call))
        return future

    def _start(self) -> None:
        with self.starting:
            if not self.started:
                for n in range(self.count):
                    threading.Thread(target=self._work, name=f"{self.name}_{n}", daemon=True).start()
                self.started = True

    def _work(self) -> None:
        while True:
            loop, future, call = self.calls.get()
            try:
                result = call()
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine, as an executor does
                loop.call_soon_threadsafe(_future_fail, future, exc)
            else:
                loop.call_soon_threadsafe(_future_settle, future, result)


def _future_settle(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # cancelled meanwhile: the socket that waited is gone
        future.set_result(result)


def _future_fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


_command_threads = CommandThreads(settings.POLYLOG["WS_COMMAND_THREADS"], "command")


def _with_connections(call: Callable[[], Any]) -> Any:
    # What database_sync_to_async does around each call, before it only: a connection this call leaves
    # broken or past its age is closed before the thread's next call uses it.
    close_old_connections()
    return call()


async def _authorised_handle(**kwargs: Any) -> tuple[CommandResult, live.Batch]:
    call = functools.partial(_role_checked_handle, **kwargs)
    return await _command_threads.run(functools.partial(_with_connections, call))


async def _send_unless_gone(send: Callable[[dict[str, Any]], Any], message: dict[str, Any]) -> None:
    """Send, unless the peer is already gone: a frame that was on its way (a presence change, an event)
    when the client closed or a close of ours began is not an error. Daphne's autobahn refuses such a
    send with Disconnected (many sockets closing at once logged its tracebacks)."""
    try:
        await send(message)
    except Disconnected:
        log.debug("websocket already closed; %s not sent", message.get("type"))


class LiveConsumer(AsyncWebsocketConsumer):
    """What item and job sockets share: JSON frames, error replies, limits and the idle timeout."""

    revoked = False  # the user's access fell while the socket was open: it sends and takes nothing more

    async def open(self, group: str, job_id: int, role: str) -> None:
        self.group = group
        self.labels_group = live.labels_group(job_id)
        self.user_group = live.user_group(self.scope["user"].pk)
        self.role = role
        self.last_frame = time.monotonic()
        await self.channel_layer.group_add(group, self.channel_name)
        await self.channel_layer.group_add(self.labels_group, self.channel_name)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()
        self.watchdog = asyncio.ensure_future(self.watch_idle())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Channels' AsyncConsumer.__call__ with a leaner loop. Its await_many_dispatch makes a new task
        for every message and waits on both sources with asyncio.wait; here each source (the socket, the
        channel layer) has one pump task for the connection's life, and a lock lets one message at a time
        be dispatched, in the order they came, as there. A handler raising StopConsumer ends both."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        if self.channel_layer is None:
            await super().__call__(scope, receive, send)
            return
        self.channel_name = await self.channel_layer.new_channel()
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        # Channels' session middleware wraps every outbound message, to save the session and set its
        # cookie on an HTTP response; a websocket sends none, so its frames skip the wrapper (which looked
        # into the lazy session at every frame).
        wrapper = getattr(send, "__self__", None)
        if isinstance(wrapper, InstanceSessionWrapper) and not any(
            kind.startswith("websocket.") for kind in wrapper.save_message_types
        ):
            send = wrapper.real_send
        self.base_send = functools.partial(_send_unless_gone, send)
        turn = asyncio.Lock()

        async def pump(source: Callable[[], Any]) -> None:
            while True:
                message = await source()
                async with turn:
                    await self.dispatch(message)

        pumps = [asyncio.ensure_future(pump(receive)), asyncio.ensure_future(pump(self.channel_receive))]
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for task in done:  # a pump ends only by raising
                error = task.exception()
                if error is not None and not isinstance(error, StopConsumer):
                    raise error
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch hops to the shared sync thread for close_old_connections() before every
        # message (every frame and every group message), which serialises all sockets of the process
        # through that one thread. Every database call here closes old connections in its own thread
        # around the call (database_sync_to_async, _with_connections), so the hop buys nothing.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def watch_idle(self) -> None:
        idle = _limits()["WS_IDLE_SECONDS"]
        while True:
            await asyncio.sleep(max(0.05, idle - (time.monotonic() - self.last_frame)))
            if time.monotonic() - self.last_frame >= idle:
                await self.error("idle_timeout", f"No frame for {idle:g} s; closing.")
                await self.close(code=CLOSE_IDLE)
                return

    async def disconnect(self, code: int) -> None:
        if getattr(self, "gap_fill", None) is not None:
            self.gap_fill.cancel()
        tasks = ("watchdog", "lag_watch", "cursor_flush", "gap_task")
        for task in (getattr(self, name, None) for name in tasks):
            if task is not None:
                task.cancel()
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.labels_group, self.channel_name)
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

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

    async def send_json(self, content: dict[str, Any]) -> None:
        if not self.revoked:
            await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.revoked:
            return
        self.last_frame = time.monotonic()
        if text_data is None:
            await self.error("invalid_frame", "Frames are JSON text, not binary.")
            return
        limit = _limits()["WS_MAX_FRAME_BYTES"]
        # A character is at most 4 bytes in UTF-8: encode only when the count of characters can't tell.
        size = len(text_data) if 4 * len(text_data) <= limit else len(text_data.encode())
        if size > limit:
            # As Daphne does above the same cap (apps/common/websocket_server.py): 1009, message too big.
            await self.error("frame_too_large", f"A frame is at most {limit} bytes; this one has {size}.")
            await self.close(code=CLOSE_MESSAGE_TOO_BIG)
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            await self.error("invalid_json", f"The frame is not JSON: {str(exc)[:200]}.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.error("invalid_frame", "A frame is a JSON object with a 'type' string.")
            return
        wrong = self.wrong_target(frame)
        if wrong is not None:
            code, message = wrong
            if frame["type"] == "command" and isinstance(frame.get("command_id"), str):
                await self.send_json(
                    {"type": "rejected", "command_id": frame["command_id"], "code": code, "message": message}
                )
            else:
                await self.error(code, message)
            return
        handler = self.frame_handlers().get(frame["type"])
        if handler is None:
            known = ", ".join(self.frame_handlers())
            await self.error("unknown_type", f"Unknown frame type {frame['type'][:40]!r}; known: {known}.")
            return
        try:
            await handler(frame)
        except Exception:  # a bug must cost one frame, not the connection
            log.exception("websocket frame %r failed", frame.get("type"))
            await self.error("internal_error", "The server failed to handle this frame; it has been logged.")

    def frame_handlers(self) -> dict[str, Any]:
        return {"ping": self.on_ping}

    def wrong_target(self, frame: dict[str, Any]) -> tuple[str, str] | None:
        """(code, message) when the frame names another item or job than this socket's."""
        return None

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})


class ItemConsumer(LiveConsumer):
    """`/ws/items/<id>/`: catch-up and live events, commands, presence and cursors of one item."""

    async def connect(self) -> None:
        self.item_id = int(self.scope["url_route"]["kwargs"]["item_id"])
        self.user = self.scope.get("user")
        self.sent_seq: int | None = None  # the last event seq sent; None until the client said hello
        self.delivering = asyncio.Lock()  # one sender of events at a time keeps them in order
        self.ahead: dict[int, dict[str, Any]] = {}  # broadcast events past a gap, by seq
        self.gap_fill: asyncio.TimerHandle | None = None
        self.cursor_pending: tuple[float, float] | None = None
        self.cursor_flush: asyncio.Future[None] | None = None
        self.active_at = 0.0  # when this item last showed activity to this socket
        self.present: dict[str, dict[str, Any]] = {}
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        job_id = await _item_job(self.item_id)
        role = None if job_id is None else await _role(self.user, job_id)
        if role is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.job_id = job_id
        limits = _limits()
        self.commands = TokenBucket(limits["WS_COMMANDS_PER_SECOND"], limits["WS_COMMAND_BURST"])
        self.hellos = TokenBucket(1.0, 5)
        self.cursors = TokenBucket(limits["WS_CURSORS_PER_SECOND"], limits["WS_CURSORS_PER_SECOND"])
        await self.open(live.item_group(self.item_id), job_id, role)
        self.lag_watch = asyncio.ensure_future(self.watch_lag())
        self.present[self.channel_name] = _user_info(self.user)
        await self.channel_layer.group_send(
            self.group,
            {"type": live.PRESENCE_JOIN, "channel": self.channel_name, "user": _user_info(self.user)},
        )

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_send(
                self.group,
                {"type": live.PRESENCE_LEAVE, "channel": self.channel_name, "user": _user_info(self.user)},
            )
        await super().disconnect(code)

    def frame_handlers(self) -> dict[str, Any]:
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
        async with self.delivering:
            self.sent_seq = since
            await self.catch_up(None)
            await self.send_json({"type": "caught_up", "seq": self.sent_seq})

    async def on_command(self, frame: dict[str, Any]) -> None:
        # The envelope is read as REST reads it (parse_command_envelope). A frame without a usable
        # command_id has nothing to be answered by: an error frame. Any other command counts against the
        # rate, refused or not.
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
            rate = _limits()["WS_COMMANDS_PER_SECOND"]
            await self.error(
                "rate_limited", f"At most {rate:g} commands a second; send it again.", command_id=command_id
            )
            return
        if refusal is not None:
            await self.rejected(command_id, *refusal)
            return
        try:
            result, broadcasts = await _authorised_handle(
                user=self.user,
                item_id=self.item_id,
                command=envelope.command,
                command_id=command_id,
                expected_seq=envelope.expected_seq,
            )
        except Rejected as rejected:
            await self.rejected(command_id, rejected.code, rejected.message)
            return
        except ApiError as error:
            await self.rejected(command_id, error.code, error.message)
            return
        self.active_at = time.monotonic()
        await self.send_json({"type": "ack", "command_id": command_id, "seq": result.seq})
        await live.send(broadcasts)

    async def on_cursor(self, frame: dict[str, Any]) -> None:
        x, y = frame.get("x"), frame.get("y")
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)
        ):
            await self.error("invalid_frame", "cursor needs finite numbers x and y.")
            return
        # Past the rate, positions are coalesced: the latest one goes out as soon as the rate allows,
        # so the others never keep a stale cursor when a quick movement stops.
        self.cursor_pending = (x, y)
        if self.cursor_flush is None:
            if self.cursors.take():
                await self.flush_cursor()
            else:
                self.cursor_flush = asyncio.ensure_future(self.flush_cursor_later())

    async def flush_cursor(self) -> None:
        if self.cursor_pending is None:
            return
        x, y = self.cursor_pending
        self.cursor_pending = None
        await self.channel_layer.group_send(
            self.group,
            {
                "type": live.CURSOR_MOVED,
                "channel": self.channel_name,
                "user": _user_info(self.user),
                "x": x,
                "y": y,
            },
        )

    async def flush_cursor_later(self) -> None:
        try:
            while not self.cursors.take():
                await asyncio.sleep(1 / _limits()["WS_CURSORS_PER_SECOND"])
            await self.flush_cursor()
        finally:
            self.cursor_flush = None

    async def rejected(self, command_id: str, code: str, message: str) -> None:
        await self.send_json({"type": "rejected", "command_id": command_id, "code": code, "message": message})

    # Events ----------------------------------------------------------------------------------------

    async def catch_up(self, upto: int | None) -> None:
        """Send the stored events after the last one sent (up to `upto`), page by page; then the
        broadcast events held past the gap that this closed."""
        while True:
            assert self.sent_seq is not None
            events = await _events_after(self.item_id, self.sent_seq, upto)
            for event in events:
                await self.send_json({"type": "event", "event": event})
                self.sent_seq = event["seq"]
            if len(events) < CATCH_UP_PAGE:
                break
        await self.send_ready()

    async def send_ready(self) -> None:
        """Send the held events that follow the last one sent, in seq order; drop those already sent."""
        assert self.sent_seq is not None
        while self.sent_seq + 1 in self.ahead:
            event = self.ahead.pop(self.sent_seq + 1)
            await self.send_json({"type": "event", "event": event})
            self.sent_seq = event["seq"]
        for seq in [seq for seq in self.ahead if seq <= self.sent_seq]:
            del self.ahead[seq]

    async def item_events(self, message: dict[str, Any]) -> None:
        self.active_at = time.monotonic()
        if self.sent_seq is None:
            return  # live events start with the client's hello
        async with self.delivering:
            for event in message["events"]:
                if event["seq"] > self.sent_seq:  # else already sent (by a catch-up)
                    self.ahead[event["seq"]] = event
            await self.send_ready()
            if not self.ahead and self.gap_fill is not None:
                self.gap_fill.cancel()  # the gap was filled by the broadcast it waited for
                self.gap_fill = None
            elif self.ahead and self.gap_fill is None:
                # An event came before an earlier one: with several processes, broadcasts of one item
                # can pass each other on the way. The missing one usually follows within milliseconds;
                # if not (it was lost), read it from the store.
                wait = _limits()["WS_GAP_WAIT_SECONDS"]
                self.gap_fill = asyncio.get_running_loop().call_later(wait, self.gap_fill_start)

    def gap_fill_start(self) -> None:
        self.gap_fill = None
        self.gap_task = asyncio.ensure_future(self.fill_gap())

    async def fill_gap(self) -> None:
        async with self.delivering:
            if self.ahead and self.sent_seq is not None:
                await self.catch_up(max(self.ahead))

    async def watch_lag(self) -> None:
        """While the item is active, compare with the store now and then: a broadcast the channel layer
        dropped (an overloaded process's inbox is bounded) is then read from the store, so no socket
        stays short of the stream's last events."""
        every = _limits()["WS_LAG_CHECK_SECONDS"]
        while True:
            await asyncio.sleep(every)
            if self.sent_seq is None or time.monotonic() - self.active_at > 10 * every:
                continue
            last = await _last_seq(self.item_id)
            if last is not None and last > self.sent_seq:
                async with self.delivering:
                    await self.catch_up(last)

    # Presence and cursors ----------------------------------------------------------------------------

    def _users(self) -> list[dict[str, Any]]:
        return list({u["id"]: u for u in self.present.values()}.values())

    async def _presence(self, event: str, user: dict[str, Any]) -> None:
        await self.send_json({"type": "presence", "event": event, "user": user, "users": self._users()})

    async def presence_join(self, message: dict[str, Any]) -> None:
        if message["channel"] == self.channel_name:
            await self._presence("here", message["user"])
            return
        self.present[message["channel"]] = message["user"]
        await self._presence("join", message["user"])
        # Tell the newcomer we are here: presence needs no shared store, across processes too.
        await self.channel_layer.send(
            message["channel"],
            {"type": live.PRESENCE_HERE, "channel": self.channel_name, "user": _user_info(self.user)},
        )

    async def presence_here(self, message: dict[str, Any]) -> None:
        if message["channel"] not in self.present:
            self.present[message["channel"]] = message["user"]
            await self._presence("here", message["user"])

    async def presence_leave(self, message: dict[str, Any]) -> None:
        if self.present.pop(message["channel"], None) is not None and message["channel"] != self.channel_name:
            await self._presence("leave", message["user"])

    async def cursor_moved(self, message: dict[str, Any]) -> None:
        if message["channel"] != self.channel_name:
            await self.send_json(
                {"type": "cursor", "user": message["user"], "x": message["x"], "y": message["y"]}
            )


class JobConsumer(LiveConsumer):
    """`/ws/jobs/<id>/`: item statuses, per-status and per-label counts, new items after a sync."""

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
        self.item_seqs: dict[int, int] = {}
        await self.open(live.job_group(self.job_id), self.job_id, role)

    def wrong_target(self, frame: dict[str, Any]) -> tuple[str, str] | None:
        if "job_id" in frame and frame["job_id"] != self.job_id:
            return "wrong_job", f"This socket is for job {self.job_id}."
        return None

    async def job_item(self, message: dict[str, Any]) -> None:
        # Commands of one item may broadcast from different threads or processes out of order: an
        # item frame older than one already sent would show a stale status.
        item = message["item"]
        if item["seq"] <= self.item_seqs.get(item["id"], 0):
            return
        self.item_seqs[item["id"]] = item["seq"]
        await self.send_json({"type": "item", "item": item})

    async def job_counts(self, message: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "counts",
                "status_counts": message["status_counts"],
                "label_counts": message["label_counts"],
            }
        )

    async def job_items_deleted(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "items_deleted", "item_ids": message["item_ids"]})

    async def job_items_added(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "items_added", "added": message["added"], "total": message["total"]})
