"""Stored XSS through uploads: a manager uploads a GIF that is also a script (`p2.js`) and a PNG whose text
is a page that loads it (`y.html`); staff open every URL the files could be reached at, and no script runs.
And every page still runs its own scripts under a policy that allows the static prefix alone.

The script, should it ever run, marks the page's title and asks for a URL that this test watches.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest

from tests.polyglots import png_with_text, polyglot_gif

from .helpers import expect

pytestmark = pytest.mark.browser

MARKER = "/polyglot-ran/"
RAN = "polyglot ran"


def test_uploaded_polyglots_run_no_script_wherever_staff_open_them(open_page, site, tmp_path):
    staff_api = site.api()  # demo is staff
    dataset = staff_api.post("/api/datasets/", {"name": f"Polyglots {uuid.uuid4().hex[:6]}"})
    job = staff_api.post(
        "/api/jobs/", {"name": f"Polyglot job {uuid.uuid4().hex[:6]}", "dataset": dataset["id"]}
    )
    staff_api.post(f"/api/jobs/{job['id']}/members/", {"username": "ann", "role": "manager"})
    folder = f"/media/datasets/{dataset['id']}"
    script = polyglot_gif(f"document.title='{RAN}';fetch('{MARKER}')")
    # The page loads the script by the name it was uploaded as and by the name it would be stored as.
    page_png = png_with_text(
        f'<html><script src="{folder}/p2.js"></script><script src="{folder}/p2.js.gif"></script></html>'
    )
    (tmp_path / "p2.js").write_bytes(script)
    (tmp_path / "y.html").write_bytes(page_png)

    # A manager uploads both through Add data.
    manager = open_page("ann")
    manager.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    manager.get_by_role("button", name="Add data").click()
    dialog = manager.locator("#add-data-dialog")
    dialog.get_by_label("Files", exact=True).set_input_files(
        [str(tmp_path / "p2.js"), str(tmp_path / "y.html")]
    )
    dialog.get_by_role("button", name="Import").click()
    expect(dialog.locator(".progress-line")).to_contain_text("done")
    expect(dialog.locator(".progress-line")).to_contain_text("2 added")

    # "done" is the images registered; their thumbnails follow on the task queue (docs/data.md).
    deadline = time.monotonic() + 30
    while True:
        items = staff_api.get(f"/api/jobs/{job['id']}/items/?page_size=10&ordering=id")["results"]
        if all(item["image"]["thumbnail_url"] for item in items) or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # polling for the thumbnails, within the deadline
    assert sorted(item["image"]["name"] for item in items) == ["p2.js", "y.html"]
    urls = [f"{folder}/p2.js", f"{folder}/y.html"]  # as uploaded
    for item in items:
        urls += [item["image"]["url"], item["image"]["thumbnail_url"], f"/items/{item['id']}/"]

    # Staff open each of them.
    staff = open_page("demo")
    asked: list[str] = []
    staff.context.on("request", lambda request: asked.append(request.url))
    for url in urls:
        staff.goto(site.url(url))
        if url.startswith("/items/"):  # the labeling page shows the image, and its own scripts run
            expect(staff.locator("body")).to_have_attribute("data-live", "true")
        assert staff.title() != RAN, url

    assert not [url for url in asked if MARKER in url]
    stored = {item["image"]["name"]: item["image"]["url"] for item in items}
    assert stored["p2.js"].endswith("/p2.js.gif") and stored["y.html"].endswith("/y.html.png")


def scripts_loaded(page) -> list[str]:
    return page.evaluate(
        "performance.getEntriesByType('resource').map((e) => e.name).filter((n) => new URL(n).pathname.endsWith('.js'))"
    )


def test_every_page_runs_its_scripts_from_the_static_prefix(open_page, site):
    # The policy names the static prefix alone; a script it blocked would be a console report, which fails
    # the test (the open_page fixture), and each page shows its scripts ran.
    item = site.seed["items"][0]["id"]
    login = open_page(None)
    login.goto(site.url("/accounts/login/"))
    expect(login.get_by_label("Username")).to_be_visible()
    checked = {"/accounts/login/": scripts_loaded(login)}
    staff = open_page("demo")

    def visit(url: str) -> None:
        staff.goto(site.url(url))

    visit("/")
    staff.get_by_role("button", name="New job").click()
    expect(staff.locator("#new-job-dialog")).to_be_visible()
    checked["/"] = scripts_loaded(staff)
    visit(f"/jobs/{site.seed['job_id']}/")
    expect(staff.locator("#grid")).to_have_attribute("data-state", "ready")
    checked["job"] = scripts_loaded(staff)
    visit(f"/items/{item}/")
    expect(staff.locator("body")).to_have_attribute("data-live", "true")
    checked["label"] = scripts_loaded(staff)
    visit(f"/items/{item}/replay/")
    expect(staff.locator("body")).to_have_attribute("data-ready", "true")
    checked["replay"] = scripts_loaded(staff)
    visit("/admin/")
    checked["admin"] = scripts_loaded(staff)
    for changelist in ("/admin/labeling/labelingjob/", "/admin/datasets/image/"):
        visit(changelist)
        # Django's admin scripts define `django` (admin/js/jquery.init.js) and the actions' select-all box.
        assert staff.evaluate("typeof window.django?.jQuery") == "function", changelist
        checked[changelist] = scripts_loaded(staff)

    for page, scripts in checked.items():
        assert scripts, page
        assert all(urlsplit(script).path.startswith("/static/") for script in scripts), (page, scripts)
