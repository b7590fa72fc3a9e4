"""Thumbnails come from the task queue after an image is registered: the job page shows a placeholder for an
image without one, and the job socket's `thumbnails` frame swaps it for the picture once a worker made it.

Its own server on Redis (the RQ backend and the Redis channel layer), so that the worker that makes the
thumbnails is another process, started only once the page shows the placeholders: nothing races. Needs
Redis: skipped without it, except on CI (CI=true).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from polylog_client import http_json, token_get

from tests.conftest import service_missing
from tests.live_servers import (
    Daphne,
    QueueWorker,
    Unavailable,
    daphne_start,
    manage,
    photos_write,
    redis_flushed,
    server_env,
    wait_until_serving,
)

from .conftest import DEMO, log_in
from .helpers import expect

pytestmark = pytest.mark.browser

REDIS_DB = 12  # no other test uses it
# Three of the demo job's images lose their thumbnails, as if just imported, and a thumbnail task is queued
# for them; no worker runs yet.
UNTHUMBNAIL = """
from apps.datasets.imports import THUMBNAILS_TASK
from apps.datasets.models import Image
from apps.tasks.services import task_enqueue
ids = list(Image.objects.order_by("path").values_list("pk", flat=True)[:3])
Image.objects.filter(pk__in=ids).update(thumbnail="")
task_enqueue(kind=THUMBNAILS_TASK, args={"image_ids": ids})
"""


@dataclass
class Site:
    server: Daphne
    env: dict[str, str]

    def url(self, path: str) -> str:
        return self.server.base_url + path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    try:
        redis_url = redis_flushed(REDIS_DB)
    except Unavailable as exc:
        service_missing(exc, "Redis on its standard local port")
    env = server_env(tmp_path, REDIS_URL=redis_url, POLYLOG_CHANNEL_PREFIX=f"polylog.thumbs{os.getpid()}.")
    env.pop("DEBUG", None)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--photos", str(photos_write(tmp_path / "photos", 6)))
    server = daphne_start(env, tmp_path / "logs", "server")
    try:
        wait_until_serving([server])
        yield Site(server, env)
    finally:
        server.stop()


def test_the_grid_shows_a_placeholder_until_the_queue_makes_the_thumbnail(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    manage(site.env, "shell", "-c", UNTHUMBNAIL)
    token = token_get(site.server.base_url, *DEMO)
    job = next(
        j for j in http_json(f"{site.server.base_url}/api/jobs/", token=token) if j["name"].startswith("Demo")
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    worker = None
    try:
        page = context.new_page()
        log_in(page, site, "demo")
        page.goto(site.url(f"/jobs/{job['id']}/"))
        expect(page.locator("#live-status")).to_have_text("live")
        placeholders = page.locator("#grid .tile .thumb-placeholder")
        expect(placeholders).to_have_count(3)
        expect(placeholders.first).to_have_text("Preparing preview…")
        expect(page.locator("#grid .tile img:not(.overlay)")).to_have_count(3)  # the three others

        worker = QueueWorker(site.env, tmp_path / "worker.log")

        expect(placeholders).to_have_count(0, timeout=30_000)
        thumbnails = page.locator("#grid .tile img:not(.overlay)")
        expect(thumbnails).to_have_count(6)
        sources = [thumbnails.nth(n).get_attribute("src") for n in range(6)]
        assert all(source and source.startswith("/media/thumbnails/") for source in sources), sources
        page.screenshot(path=str(tmp_path / "thumbnails.png"))
    finally:
        context.close()
        if worker is not None:
            worker.kill()
