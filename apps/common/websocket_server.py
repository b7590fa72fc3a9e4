"""Daphne's websocket limits made ours: one message cap, POLYLOG["WS_MAX_FRAME_BYTES"], and a clean close
with 1009 (message too big) above it.

Daphne caps websocket messages at 1 MiB of its own (its command line and `runserver` each have an option,
both easy to forget) and leaves autobahn's `failByDrop` on, so a message over the cap reset the TCP
connection: the client saw no close code and no reason, while the docs promised an answer. Installed
from config/asgi.py, which Daphne imports before it builds its server, so the cap holds however Daphne is
started (`daphne config.asgi:application`, `manage.py runserver`).
"""

from __future__ import annotations

from typing import Any

from daphne import server as daphne_server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.conf import settings

# 1012, service restart (RFC 6455's registry): a graceful stop's close (apps/common/stopping.py).
CLOSE_SERVICE_RESTART = 1012


class ServerWebSocketProtocol(WebSocketProtocol):
    """Daphne's protocol, able to close with 1012: autobahn's sendClose, which Daphne's close goes through,
    takes only 1000 and 3000-4999 from an application, so 1012 is sent with the close-frame call autobahn
    uses for the codes it sends itself."""

    def serverClose(self, code: int | None = None) -> None:  # noqa: N802 - Daphne's name
        if code == CLOSE_SERVICE_RESTART:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            super().serverClose(code)


class CappedWebSocketFactory(WebSocketFactory):
    """Daphne's factory, with the message and frame caps set from our setting and a failing connection
    closed with a close frame (1009 for a message too big) instead of a dropped TCP connection."""

    protocol = ServerWebSocketProtocol

    def setProtocolOptions(self, **options: Any) -> None:  # noqa: N802 - autobahn's name
        cap = settings.POLYLOG["WS_MAX_FRAME_BYTES"]
        for name in ("maxMessagePayloadSize", "maxFramePayloadSize"):
            if name in options:
                options[name] = cap
        super().setProtocolOptions(failByDrop=False, **options)


def install() -> None:
    """Make Daphne's server build its websocket factory from ours (idempotent)."""
    daphne_server.WebSocketFactory = CappedWebSocketFactory
