"""The labeling page meets a server stopped with SIGTERM (docs/operations.md, "Stopping a server"): its socket
is closed with 1012, the page says it is offline with the changes that wait, and once a server answers on
the same address again it reconnects by itself, sends the waiting changes, and each is stored once.

A server of its own (stopped here, so not the package's `site`): Daphne on one SQLite file, the second
started on the first one's port, as a restarted process or the next server behind a proxy would be.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from polylog_client import http_json, token_get

from tests.live_servers import (
    Daphne,
    daphne_start,
    free_port,
    manage,
    photos_write,
    server_env,
    wait_until_serving,
)

from .conftest import DEMO, log_in
from .helpers import click_image, expect, open_item, settled

pytestmark = pytest.mark.browser

# Every close code the page's sockets saw, in order (the page itself only acts on them).
RECORD_CLOSES = """
window.socketCloses = [];
window.WebSocket = class extends window.WebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('close', (event) => window.socketCloses.push(event.code));
  }
};
"""


@dataclass
class Restartable:
    env: dict[str, str]
    logs: Path
    port: int
    servers: list[Daphne] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self, name: str) -> None:
        self.servers.append(daphne_start(self.env, self.logs, name, port=self.port))
        wait_until_serving(self.servers[-1:])

    def sigterm(self) -> int:
        server = self.servers[-1]
        os.kill(server.process.pid, signal.SIGTERM)
        return server.process.wait(timeout=30)


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Restartable]:
    env = server_env(tmp_path)
    env.pop("DEBUG", None)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--photos", str(photos_write(tmp_path / "photos", 1)))
    site = Restartable(env, tmp_path / "logs", free_port())
    try:
        site.start("first")
        yield site
    finally:
        for server in site.servers:
            server.stop()


def events_of(site: Restartable, token: str, item_id: int) -> list[dict[str, Any]]:
    answer = http_json(f"{site.base_url}/api/items/{item_id}/events/", token=token)
    return answer["results"] if isinstance(answer, dict) else answer


def test_a_server_stopped_with_sigterm_closes_with_1012_and_the_page_stores_its_waiting_changes_on_the_next(
    browser: Any, restartable: Restartable
) -> None:
    site = restartable
    token = token_get(site.base_url, *DEMO)
    job = next(
        j for j in http_json(f"{site.base_url}/api/jobs/", token=token) if j["name"].startswith("Demo")
    )
    item_id = http_json(f"{site.base_url}/api/jobs/{job['id']}/items/", token=token)["results"][0]["id"]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.add_init_script(RECORD_CLOSES)
        log_in(page, site, "demo")
        open_item(page, site, item_id)
        conn = page.locator("#conn")
        click_image(page, 100, 100)
        click_image(page, 300, 100)
        settled(page)

        assert site.sigterm() == 0
        page.wait_for_function("window.socketCloses.includes(1012)")
        click_image(page, 300, 300)  # drawn here while no server answers: they wait
        click_image(page, 100, 300)
        expect(conn).to_have_text(re.compile(r"^offline - 2 changes waiting$"), timeout=15_000)
        site.start("second")

        expect(conn).to_have_text("live", timeout=30_000)  # the page's backoff is at most 8 s
        settled(page)
    finally:
        context.close()

    assert [event["type"] for event in events_of(site, token, item_id)] == ["vertex_added"] * 4
    # The first server's own account of its stop: its one port closed, the page's one socket closed with 1012.
    assert "closed 1 listening ports; closing 1 websockets with 1012" in site.servers[0].log_tail()
