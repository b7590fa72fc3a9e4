"""Browser tests: a live server in its own process and database, headless Chromium driven by Playwright.

The server is `manage.py runserver` (Daphne here) on a free loopback port, with its own POLYLOG_VAR_DIR
(SQLite file, media, secret key), so nothing is shared with the Django test database of the other tests.
`--insecure` serves the static files as a deployment's web server would, with DEBUG off.

Without Chromium or the `playwright` package the tests are skipped, except under CI=true where that fails
the run. Every test saves a screenshot of the page it ends on as `var/test-artifacts/<test name>.png`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.assist_model_servers import fake_model, model_server
from tests.live_servers import ROOT, Daphne, free_port, manage, photos_write, server_env, wait_until_serving

from .seed import PASSWORD

CHROMIUM = os.environ.get("POLYLOG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "var" / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"
DEMO = ("demo", "demo-polylog")
PHOTO_COUNT = 30  # more than a page of the job grid (24), so pagination has a second page
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium against a live server")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(reason)


# The server ----------------------------------------------------------------------------------------


@dataclass
class LiveServer:
    base_url: str
    seed: dict[str, Any]
    server: Daphne

    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self, username: str = "demo") -> Api:
        password = DEMO[1] if username == "demo" else PASSWORD
        return Api(self.base_url, username, password)


class ApiFailed(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


class Api:
    """A token-authenticated JSON client of the live server, for setting up and checking tests."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.token = self._call("POST", "/api/auth/token/", {"username": username, "password": password})[
            "token"
        ]

    def _call(self, method: str, path: str, data: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Token {self.token}"
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers, method=method)
        try:
            with _DIRECT.open(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise ApiFailed(error.code, error.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, data: Any = None) -> Any:
        return self._call("POST", path, {} if data is None else data)

    def patch(self, path: str, data: Any) -> Any:
        return self._call("PATCH", path, data)

    def command(self, item_id: int, command: dict[str, Any]) -> Any:
        return self.post(
            f"/api/items/{item_id}/commands/", {"command_id": str(uuid.uuid4()), "command": command}
        )


@pytest.fixture(scope="package")
def site(tmp_path_factory: Any) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("browser-var")
    # A model server for the model tool (docs/assist.md): a fake model on loopback in this process, answering
    # known polygons (tests/assist_model_servers.py), so the labeling page offers the Model tool.
    model = contextlib.ExitStack()
    model_url = model.enter_context(model_server(fake_model)).url
    # Exports of 20 images or more go to the task queue, so the demo dataset's 30 have a large export
    # (tests/browser/test_export_queued.py); the other tests export one or two images.
    env = server_env(var_dir, POLYLOG_EXPORT_QUEUE_ITEMS="20", POLYLOG_ASSIST_MODEL_URL=model_url)
    env.pop("DEBUG", None)
    manage(env, "migrate", "--noinput", "-v0")
    photos = photos_write(var_dir / "photos", PHOTO_COUNT)
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.browser.seed", "--photos", str(photos)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if seeded.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{seeded.stdout[-2000:]}\n{seeded.stderr[-4000:]}")
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    port = free_port()
    logs = var_dir / "logs"
    logs.mkdir()
    output_path = logs / "server.out.log"
    output = open(output_path, "wb")  # noqa: SIM115 - closed by Daphne.stop
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Daphne(process, port, logs / "access.log", output_path, output)
    try:
        wait_until_serving([server], timeout=60)
        yield LiveServer(server.base_url, seed, server)
    finally:
        server.stop()
        model.close()


@pytest.fixture
def new_job(site: LiveServer) -> Callable[..., dict[str, Any]]:
    """A fresh job over the demo dataset (so a test's labels touch no other test), with the annotators as
    members; returns the job as the API gives it, plus its items in id order under "items"."""

    def make(name: str = "", members: tuple[str, ...] = ("ann", "bob")) -> dict[str, Any]:
        api = site.api()
        job = api.post(
            "/api/jobs/",
            {
                "name": name or f"Browser test {uuid.uuid4().hex[:8]}",
                "dataset": site.seed["dataset_id"],
                "label_classes": [
                    {"name": "cat", "color": "#e6194b"},
                    {"name": "dog", "color": "#3cb44b"},
                    {"name": "bird", "color": "#4363d8"},
                ],
            },
        )
        for member in members:
            api.post(f"/api/jobs/{job['id']}/members/", {"username": member, "role": "annotator"})
        job["items"] = api.get(f"/api/jobs/{job['id']}/items/?page_size=500&ordering=id")["results"]
        return job

    return make


# The browser ---------------------------------------------------------------------------------------


# Package scope, not session: Playwright's sync API keeps an event loop running in the main thread while it
# is open, and tests after these (tests/e2e) call asyncio.run, which refuses to start inside it.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


_sessions: dict[str, Any] = {}


def _screenshot_name(request: Any, suffix: str = "") -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    return ARTIFACTS / f"{name}{suffix}.png"


@pytest.fixture
def open_page(browser: Any, site: LiveServer, request: Any) -> Iterator[Callable[..., Any]]:
    """open_page(username) -> a new page in a new browser context signed in as that user (the first
    time through the login form, then from the saved session). Each page's final view is saved as a
    screenshot when the test ends: the first as <test>.png, others as <test>-2.png, ..."""
    pages: list[Any] = []
    contexts: list[Any] = []

    def make(username: str | None = "demo", *, viewport: tuple[int, int] = (1400, 900)) -> Any:
        size = {"width": viewport[0], "height": viewport[1]}
        storage = _sessions.get(username) if username else None
        context = browser.new_context(viewport=size, storage_state=storage)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        # What the Content-Security-Policy blocks is only said on the console; it is a failure here. Except
        # on a stored file opened by itself: its strict policy (default-src 'none'; sandbox) blocks the inline
        # style of Chromium's own image view, as it should.
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text
                and not urlsplit(page.url).path.startswith("/media/")
                and page_errors.append(message.text)
            ),
        )
        pages.append(page)
        if username and storage is None:
            log_in(page, site, username)
            _sessions[username] = context.storage_state()
        return page

    page_errors: list[str] = []
    yield make
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(pages):
        # A page the test closed has nothing to show, and must not hide the test's own outcome.
        with contextlib.suppress(Exception):
            page.screenshot(path=str(_screenshot_name(request, "" if n == 0 else f"-{n + 1}")))
    for context in contexts:
        context.close()
    assert not page_errors, f"uncaught errors in the page: {page_errors}"


def log_in(page: Any, site: LiveServer, username: str) -> None:
    password = DEMO[1] if username == "demo" else PASSWORD
    page.goto(site.url("/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site.url("/"))
