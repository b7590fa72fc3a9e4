"""A large export on a real queue worker (`manage.py worker`, RQ over Redis) on PostgreSQL: the export view's
service records it and RQ holds it until a worker (another process) takes it; the worker's export_progress
messages reach a listener of the job's group on the Redis channel layer, as a job page's socket on any
server would get them, and the zip it leaves in storage holds every image of the job.

Needs PostgreSQL and Redis on their standard local ports: skipped without them, except on CI (CI=true).
POLYLOG_E2E_EXPORT_DATABASE and POLYLOG_E2E_EXPORT_REDIS_DB name the database and the Redis database it
takes over (a fresh database per run, Redis database 15 by default).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing
from tests.live_servers import (
    ROOT,
    Unavailable,
    manage,
    postgres_drop,
    postgres_fresh,
    redis_flushed,
    server_env,
)

REDIS_DB = int(os.environ.get("POLYLOG_E2E_EXPORT_REDIS_DB", "15"))  # no other test uses 15
DATABASE = os.environ.get("POLYLOG_E2E_EXPORT_DATABASE") or f"polylog_export_worker_{os.getpid()}"
IMAGES = 12
SEED = f"""
import io
from PIL import Image
from django.contrib.auth import get_user_model
from apps.datasets.models import Dataset
from apps.datasets.services import image_create
from apps.labeling.services import job_create
user = get_user_model().objects.create_user("export_manager", password="export-manager-pw")
dataset = Dataset.objects.create(name="Exported by a worker", created_by=user)
for n in range({IMAGES}):
    out = io.BytesIO()
    Image.new("RGB", (20 + n, 10), (n, 2 * n, 3 * n)).save(out, "PNG")
    image_create(dataset=dataset, path=f"img_{{n:02d}}.png", content=out.getvalue())
job = job_create(name="Queued export", dataset=dataset, created_by=user)
print(job.pk)
"""
QUEUE = """
from apps.interchange.exports import export_queue
from apps.labeling.models import LabelingJob
job = LabelingJob.objects.get(pk={job_id})
query = {{"status": "all", "hard_example": None, "ordering": "id"}}
export = export_queue(
    job=job, requested_by=job.created_by, fmt="coco", with_images=False, query=query, total=job.items.count()
)
print(export.pk, export.run_id)
"""


@pytest.fixture
def services() -> Iterator[tuple[str, str]]:
    """A database of this test's own (dropped after it: each run left one behind) and a flushed Redis."""
    try:
        found = postgres_fresh(DATABASE), redis_flushed(REDIS_DB)
    except Unavailable as exc:
        service_missing(exc, "PostgreSQL and Redis on their standard local ports")
    yield found
    postgres_drop(DATABASE)


def query(database_url: str, sql: str, *args: Any) -> tuple[Any, ...]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None, sql
    return tuple(row)


async def progress_while_a_worker_runs(
    redis_url: str, job_id: int, env: dict[str, str], log: Path
) -> list[dict[str, Any]]:
    """Listen to the job's group on the channel layer the servers use, then run a worker until the queue is
    empty (`--burst`); the export_progress messages heard, up to the last one (done or failed)."""
    from apps.common.channel_layer import LeanPubSubChannelLayer
    from config.settings import redis_channel_layer

    layer = LeanPubSubChannelLayer(**redis_channel_layer(redis_url)["CONFIG"])
    channel = await layer.new_channel()
    await layer.group_add(f"job.{job_id}", channel)
    with open(log, "wb") as output:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "manage.py", "worker", "--burst", cwd=ROOT, env=env, stdout=output, stderr=output
        )
        heard: list[dict[str, Any]] = []
        try:
            while not heard or heard[-1]["status"] == "running":
                message = await asyncio.wait_for(layer.receive(channel), timeout=120)
                if message["type"] == "job.export":
                    heard.append(message["progress"])
        finally:
            await asyncio.wait_for(worker.wait(), timeout=120)
            await layer.group_discard(f"job.{job_id}", channel)
    return heard


def test_a_large_export_runs_on_a_worker_reports_through_redis_and_leaves_its_zip(
    services: tuple[str, str], tmp_path: Path
) -> None:
    database_url, redis_url = services
    media = tmp_path / "media"
    env = server_env(tmp_path / "var", DATABASE_URL=database_url, REDIS_URL=redis_url, MEDIA_ROOT=str(media))
    manage(env, "migrate", "--noinput", "-v0")
    job_id = int(manage(env, "shell", "-c", SEED).splitlines()[-1])  # after Django's own line
    export_id, run_id = (int(n) for n in manage(env, "shell", "-c", QUEUE.format(job_id=job_id)).split()[-2:])
    assert query(database_url, "SELECT status FROM tasks_taskrun WHERE id = %s", run_id) == ("queued",)

    log = tmp_path / "worker.log"
    heard = asyncio.run(progress_while_a_worker_runs(redis_url, job_id, env, log))

    assert heard[0]["export_id"] == export_id and heard[0]["status"] == "running", log.read_text()[-2000:]
    last = heard[-1]
    assert (last["status"], last["done"], last["total"]) == ("done", IMAGES, IMAGES), last
    assert last["download_url"] == f"/api/exports/{export_id}/download/"
    status, worker = query(database_url, "SELECT status, worker FROM tasks_taskrun WHERE id = %s", run_id)
    assert status == "done" and f":{os.getpid()}:" not in worker  # another process ran it
    name, size = query(database_url, "SELECT file, size FROM interchange_export WHERE id = %s", export_id)
    assert name.startswith(f"exports/{job_id}/{export_id}/") and (media / name).stat().st_size == size
    with zipfile.ZipFile(media / name) as archive:
        document = json.loads(archive.read("annotations/instances_default.json"))
    assert sorted(image["file_name"] for image in document["images"]) == [
        f"img_{n:02d}.png" for n in range(IMAGES)
    ]
