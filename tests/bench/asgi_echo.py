"""Bench-only ASGI application: polylog's own, plus a bare Channels echo at /ws/echo/ on the same Daphne.

The echo is the floor of a websocket round trip (Daphne, Channels, no auth, no JSON, no database), against
which `make bench` sets the command -> ack latency. config/asgi.py stays as it is.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from config.asgi import application as polylog_application


class Echo(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)


echo = Echo.as_asgi()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> Any:
    if scope["type"] == "websocket" and scope["path"] == "/ws/echo/":
        return await echo(scope, receive, send)
    return await polylog_application(scope, receive, send)
