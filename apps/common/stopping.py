"""A Daphne server's graceful stop on SIGTERM: stop accepting, finish what is in flight, close sockets with 1012.

Daphne leaves SIGTERM to Twisted, whose handler stops the reactor at once: Daphne then cancels every
application instance, so a command being stored loses its ack and every websocket is cut without a close
frame (the client sees 1006). Installed from config/asgi.py (as apps/common/websocket_server.py is), so it
holds however Daphne is started; once the reactor runs, SIGTERM is ours:

1. the listening ports close, so a load balancer or a client's next connection goes to another server,
   and /readyz answers 503 ("stopping") on the connections still open;
2. each open websocket finishes the frame it is handling (a command is stored, acked and broadcast), takes
   no frame after it, and closes with 1012 (service restart): clients reconnect, to another server, and
   send again the commands that got no answer (a retried command_id is applied once);
3. HTTP requests in flight (a REST command, an export) run to their end;
4. then the reactor stops as Daphne would. All of it within POLYLOG["STOP_GRACE_SECONDS"]; what is still
   running then is cancelled as before. A second SIGTERM, or SIGINT, stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings

from .websocket import open_sockets
from .websocket_server import CLOSE_SERVICE_RESTART

log = logging.getLogger(__name__)


stopping = False  # read by /readyz
RECHECK_SECONDS = 0.25  # how often a stop looks for sockets accepted since it began


def install() -> None:
    """Take SIGTERM over from Twisted once Daphne's reactor runs (Twisted installs its own handlers as it
    starts). Without Daphne's server imported (a test, a management command) there is nothing to stop."""
    if "daphne.server" not in sys.modules:
        return
    from twisted.internet import reactor

    reactor.callWhenRunning(signal.signal, signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    from twisted.internet import reactor

    if stopping:
        log.warning("second SIGTERM: stopping now")
        reactor.callFromThread(reactor.stop)
        return
    # A signal handler runs between two bytecodes of the loop's thread: the work is scheduled, not done here.
    reactor.callFromThread(lambda: asyncio.ensure_future(stop()))


async def stop(grace: float | None = None) -> None:
    """Stop this server as the module docstring says, within `grace` seconds."""
    from twisted.internet import reactor

    global stopping
    stopping = True
    grace = settings.POLYLOG["STOP_GRACE_SECONDS"] if grace is None else grace
    deadline = time.monotonic() + grace
    servers, ports = _stop_listening(reactor)
    asked: set[Any] = set()
    closing: list[asyncio.Future[None]] = []

    def close_sockets() -> None:
        # Again after each wait: a handshake under way at the signal ends in a socket accepted after it.
        for socket in open_sockets - asked:
            asked.add(socket)
            closing.append(asyncio.ensure_future(socket.server_stopping(CLOSE_SERVICE_RESTART)))

    close_sockets()
    log.info("SIGTERM: closed %d listening ports; closing %d websockets with 1012", ports, len(asked))
    if closing:
        await asyncio.wait(closing, timeout=grace)
    # The websockets' instances end once their close handshake is done; HTTP requests when they are
    # answered. A keep-alive connection may bring a request meanwhile, so look again until none runs.
    while (running := _instances_running(servers)) and (left := deadline - time.monotonic()) > 0:
        await asyncio.wait(running, timeout=min(left, RECHECK_SECONDS), return_when=asyncio.FIRST_COMPLETED)
        close_sockets()
    for failed in (task for task in closing if task.done() and not task.cancelled() and task.exception()):
        log.error("stop: a websocket did not close cleanly", exc_info=failed.exception())
    if running:
        log.warning("stop: %d connections still busy after %g s; cancelling them", len(running), grace)
    reactor.stop()


def _stop_listening(reactor: Any) -> tuple[list[Any], int]:
    """Close Daphne's listening ports; the Daphne servers they belonged to, and how many were closed."""
    from daphne.http_protocol import HTTPFactory

    servers = []
    for reader in reactor.getReaders():
        factory = getattr(reader, "factory", None)
        if isinstance(factory, HTTPFactory) and hasattr(reader, "stopListening"):
            reader.stopListening()
            servers.append(factory.server)
    return list({id(server): server for server in servers}.values()), len(servers)


def _instances_running(servers: list[Any]) -> list[asyncio.Future[Any]]:
    return [
        details["application_instance"]
        for server in servers
        for details in list(server.connections.values())
        if "application_instance" in details and not details["application_instance"].done()
    ]
