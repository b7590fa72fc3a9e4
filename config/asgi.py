"""ASGI entry point: HTTP to Django; websockets through the origin check, session and token auth."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.accounts.origin import OriginCheck  # noqa: E402
from apps.accounts.websocket import TokenAuthMiddleware  # noqa: E402
from apps.common import stopping, websocket_server  # noqa: E402
from apps.labeling.routing import websocket_urlpatterns  # noqa: E402

websocket_server.install()
stopping.install()  # SIGTERM: finish in-flight commands, close sockets with 1012 (docs/operations.md)

application = ProtocolTypeRouter(
    {
        "http": django_app,
        "websocket": OriginCheck(AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)

# SQLite: the log copied back by a thread, not by a command's commit; first, so that every connection of
# this process, a resumed task's too, leaves the checkpoints to it (apps/common/sqlite_wal.py).
from apps.common.sqlite_wal import checkpointing_start  # noqa: E402

checkpointing_start()

# The embedded setup's task threads start with the server and sweep the runs a previous process left
# (apps/tasks/backends.py); with Redis, `manage.py worker` processes do that instead.
from apps.tasks.backends import embedded_start  # noqa: E402

embedded_start()
