"""`/healthz` (the process answers) and `/readyz` (it can serve: database, Redis, storage, queue) for load balancers.

Both are public by design (a load balancer calls them without credentials), so they say only which check
failed and the kind of error, never a message (it could hold a host name, a user or a path), and set no
cookie. docs/operations.md, "Health checks".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from apps.common import stopping
from apps.tasks import queue

# A name no one stores: asking whether it exists proves an object store answers and takes our credentials.
STORAGE_PROBE = "polylog-readyz-probe"


def database_check() -> str | None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def redis_check() -> str | None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return None


def storage_check() -> str | None:
    if not isinstance(default_storage, FileSystemStorage):
        default_storage.exists(STORAGE_PROBE)
        return None
    try:
        default_storage.listdir("")  # the folder is there and readable (a stat of a file would not tell)
    except FileNotFoundError:
        # Made by the first file stored (a fresh install): ready if it can be made there.
        parent = Path(default_storage.location).parent
        if not (parent.is_dir() and os.access(parent, os.W_OK)):
            return "media folder missing"
    return None


def queue_check() -> str | None:
    return queue.queue_check()


def server_check() -> str | None:
    return "stopping" if stopping.stopping else None


def checks() -> dict[str, Callable[[], str | None]]:
    """The checks that apply to this configuration, by name: each returns None when healthy, or what is wrong."""
    found: dict[str, Callable[[], str | None]] = {
        "server": server_check,
        "database": database_check,
        "storage": storage_check,
        "queue": queue_check,
    }
    if settings.REDIS_URL:
        found["redis"] = redis_check
    return found


def run(check: Callable[[], str | None]) -> str:
    try:
        problem = check()
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is what readiness reports
        return f"failed: {type(exc).__name__}"
    return "ok" if problem is None else f"failed: {problem}"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers HTTP. Touches nothing else, so a slow database never gets it restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: 200 with each check's result, or 503 naming the checks that failed."""
    results = {name: run(check) for name, check in checks().items()}
    failing = [name for name, result in results.items() if result != "ok"]
    body: dict[str, object] = {"status": "unavailable" if failing else "ok", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
