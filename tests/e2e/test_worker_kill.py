"""Real queue workers (`manage.py worker`, RQ over Redis) on PostgreSQL: one is killed with SIGKILL in the
middle of an import, its run stays "running" with a heartbeat that stops, and the next worker resumes it
from its last committed batch to exact counts, thumbnails and all.

Needs PostgreSQL and Redis on their standard local ports: skipped without them, except on CI (CI=true).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing
from tests.live_servers import (
    QueueWorker,
    Unavailable,
    manage,
    photos_write,
    postgres_drop,
    postgres_fresh,
    redis_flushed,
    server_env,
)

REDIS_DB = int(os.environ.get("POLYLOG_E2E_KILL_REDIS_DB", "11"))  # no other test uses 11
FILES = 400
START_IMPORT = """
from django.contrib.auth import get_user_model
from apps.datasets.imports import dataset_import_start
from apps.datasets.models import Dataset
user = get_user_model().objects.create_user("kill_manager", password="kill-manager-pw")
dataset = Dataset.objects.create(name="Killed mid-import", created_by=user)
record = dataset_import_start(dataset=dataset, actor=user, path="photos")
print(record.pk, record.task_run_id, dataset.pk)
"""


@pytest.fixture
def services() -> Iterator[tuple[str, str]]:
    """A database of this test's own (dropped after it: each run left one behind) and a flushed Redis."""
    name = f"polylog_worker_kill_{os.getpid()}"
    try:
        found = postgres_fresh(name), redis_flushed(REDIS_DB)
    except Unavailable as exc:
        service_missing(exc, "PostgreSQL and Redis on their standard local ports")
    yield found
    postgres_drop(name)


@pytest.fixture
def workers() -> Iterator[list[QueueWorker]]:
    started: list[QueueWorker] = []
    yield started
    for worker in started:
        worker.kill(signal.SIGTERM)


def query(database_url: str, sql: str, *args: Any) -> tuple[Any, ...]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None, sql
    return tuple(row)


def wait_for(what: str, check: Any, worker: QueueWorker, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if worker.process.poll() is not None:
            raise AssertionError(f"the worker exited while waiting for {what}:\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:g} s:\n{worker.tail()}")
        time.sleep(0.005)  # polling the database for the condition, within the deadline


def test_a_worker_killed_mid_import_is_resumed_by_the_next_worker_to_exact_counts(
    services: tuple[str, str], workers: list[QueueWorker], tmp_path: Path
) -> None:
    database_url, redis_url = services
    root = tmp_path / "import"
    photos_write(root / "photos", FILES)
    env = server_env(
        tmp_path / "var",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        POLYLOG_IMPORT_ROOT=str(root),
        POLYLOG_IMPORT_BATCH="10",
        POLYLOG_TASK_HEARTBEAT_SECONDS="0.2",
        POLYLOG_TASK_STALE_SECONDS="1",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    manage(env, "migrate", "--noinput", "-v0")
    started = manage(env, "shell", "-c", START_IMPORT).splitlines()[-1]  # after Django's own line
    import_id, run_id, dataset_id = (int(n) for n in started.split())
    progress = "SELECT processed, total, status FROM datasets_dataimport WHERE id = %s"

    workers.append(QueueWorker(env, tmp_path / "worker1.log"))
    wait_for("a committed batch", lambda: query(database_url, progress, import_id)[0] >= 10, workers[0], 60)
    workers[0].kill()

    processed, total, status = query(database_url, progress, import_id)
    assert status == "running" and 0 < processed < total == FILES, "the import must be cut off midway"
    assert query(database_url, "SELECT status FROM tasks_taskrun WHERE id = %s", run_id) == ("running",)

    workers.append(QueueWorker(env, tmp_path / "worker2.log"))
    unfinished = "SELECT count(*) FROM tasks_taskrun WHERE status NOT IN ('done', 'failed')"
    wait_for(
        "the import and its thumbnails finished",
        lambda: (
            query(database_url, progress, import_id)[2] in ("done", "failed")
            and query(database_url, unfinished) == (0,)
        ),
        workers[1],
        120,
    )

    counts = (
        "SELECT status, total, processed, added, duplicates, failed FROM datasets_dataimport WHERE id = %s"
    )
    assert query(database_url, counts, import_id) == ("done", FILES, FILES, FILES, 0, 0)
    run = "SELECT status, attempts, done, total, error FROM tasks_taskrun WHERE id = %s"
    status, attempts, done, run_total, error = query(database_url, run, run_id)
    assert (status, attempts, done, run_total) == ("done", 2, FILES, FILES)
    assert error.startswith("resumed: its worker")
    images = (
        "SELECT count(*), count(DISTINCT file), count(*) FILTER (WHERE thumbnail = '') FROM datasets_image"
    )
    assert query(database_url, images + " WHERE dataset_id = %s", dataset_id) == (FILES, FILES, 0)
    assert query(database_url, "SELECT count(*) FROM tasks_taskrun WHERE status = 'failed'") == (0,)
