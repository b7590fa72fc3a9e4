"""`/healthz` and `/readyz` (apps/ops/health.py): public, JSON, no cookie, nothing sensitive, and 503 naming
the check that fails."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

from apps.common import stopping
from apps.ops import health


def get(path: str) -> Any:
    return Client().get(path)


def test_healthz_answers_ok_without_touching_the_database() -> None:
    """No django_db mark: pytest-django refuses any database access in this test, so a query would fail it."""
    response = get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "Set-Cookie" not in response.headers
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_answers_ok_with_each_check(settings: Any) -> None:
    settings.REDIS_URL = ""

    response = get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"] == {name: "ok" for name in ("server", "database", "storage", "queue")}
    assert "Set-Cookie" not in response.headers


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable() -> None:
        raise ConnectionRefusedError("could not connect to server at 10.1.2.3 as user secret_admin")

    monkeypatch.setitem(health.__dict__, "database_check", unreachable)

    response = get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == "failed: ConnectionRefusedError"
    assert "10.1.2.3" not in response.content.decode() and "secret_admin" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_checks_redis_when_it_is_configured(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]
    assert response.json()["checks"]["redis"].startswith("failed: ")


@pytest.mark.django_db
def test_readyz_passes_redis_when_redis_answers(settings: Any) -> None:
    from tests.conftest import service_missing
    from tests.live_servers import Unavailable, redis_flushed

    try:
        settings.REDIS_URL = redis_flushed(int(os.environ.get("POLYLOG_TEST_REDIS_DB", "13")))
    except Unavailable as exc:
        service_missing(exc, "Redis on its standard local port")

    response = get("/readyz")

    assert (response.status_code, response.json()["checks"]["redis"]) == (200, "ok")


@pytest.mark.django_db
def test_readyz_fails_storage_when_the_media_folder_cannot_be_read(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "no" / "such" / "folder")},
        },
    }

    response = get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]
    assert str(tmp_path) not in response.content.decode()


@pytest.mark.django_db
def test_readyz_takes_a_media_folder_not_made_yet_for_ready(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media_made_at_first_upload")},
        },
    }

    assert get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_fails_an_object_store_that_refuses(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError
    from django.core.files.storage import default_storage

    class RefusingStore:
        def exists(self, name: str) -> bool:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    monkeypatch.setattr(default_storage, "_wrapped", RefusingStore())

    response = get("/readyz")

    assert (response.status_code, response.json()["checks"]["storage"]) == (503, "failed: ClientError")


@pytest.mark.django_db
def test_readyz_fails_the_queue_when_a_run_lost_its_worker_and_nobody_swept_it(settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.tasks.models import TaskRun

    long_ago = timezone.now() - timedelta(seconds=3 * settings.POLYLOG["TASK_STALE_SECONDS"])
    TaskRun.objects.create(kind="import", status=TaskRun.Status.RUNNING, heartbeat_at=long_ago)

    response = get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["queue"]
    assert response.json()["checks"]["queue"].startswith("failed: a task run has had no heartbeat")


@pytest.mark.django_db
def test_readyz_says_stopping_once_a_graceful_stop_began(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stopping, "stopping", True)

    response = get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["server"]
    assert response.json()["checks"]["server"] == "failed: stopping"
    assert get("/healthz").status_code == 200  # still alive: it is finishing its work
