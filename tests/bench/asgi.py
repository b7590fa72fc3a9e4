"""The bench servers' ASGI application: polylog's own (config.asgi), plus the floors of tests/bench/floor.py.

`daphne tests.bench.asgi:application` serves polylog as deployed and, beside it on the same process,
`/ws/echo/`, `/ws/floor/items/<id>/` and `POST /api/floor/items/<id>/commands/`. config/asgi.py and
config/urls.py stay as they are.
"""

from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from django.conf import settings
from django.urls import path

from config.asgi import application as polylog_application
from tests.bench.floor import Echo, FloorConsumer

# Django reads ROOT_URLCONF at every request, so the REST floor joins polylog's URLs in this process only.
settings.ROOT_URLCONF = "tests.bench.urls"
# The bench's rounds run for minutes. A connection older than CONN_MAX_AGE (60 s) is closed and opened
# again, and its PostgreSQL backend's CPU time leaves /proc with it, where tests/bench/ws.py reads the CPU
# per command; so the bench servers keep theirs (a new connection a minute costs nothing measurable).
settings.DATABASES["default"]["CONN_MAX_AGE"] = None

floors = URLRouter(
    [
        path("ws/echo/", Echo.as_asgi()),
        path("ws/floor/items/<int:item_id>/", FloorConsumer.as_asgi()),
    ]
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> Any:
    if scope["type"] == "websocket" and scope["path"].startswith(("/ws/echo/", "/ws/floor/")):
        return await floors(scope, receive, send)
    return await polylog_application(scope, receive, send)
