"""Exports from the job page: a selection under POLYLOG_EXPORT_QUEUE_ITEMS (20 for the browser tests'
server, tests/browser/conftest.py) downloads the streamed zip from the link; a larger one is made on the
task queue, the page showing how far it got (the job socket's export_progress frames), then downloads it."""

from __future__ import annotations

import json
import zipfile

import pytest

from .helpers import expect

pytestmark = pytest.mark.browser


def coco_images(download) -> list[str]:
    with zipfile.ZipFile(download.path()) as archive:
        document = json.loads(archive.read("annotations/instances_default.json"))
    return sorted(image["file_name"] for image in document["images"])


def test_a_large_export_is_made_on_the_queue_shows_its_progress_and_downloads(open_page, site, new_job):
    job = new_job()
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    expect(page.locator("#grid")).to_have_attribute("data-state", "ready")
    expect(page.locator('[data-count="all"]')).to_have_text("(30)")

    with page.expect_download() as downloading:
        page.locator("#export").click()
        expect(page.locator("#export-status")).to_be_visible()

    download = downloading.value
    assert download.suggested_filename.endswith(f"-{job['id']}-coco.zip")
    assert len(coco_images(download)) == 30
    expect(page.locator("#export-status")).to_contain_text("Export ready")
    link = page.locator("#export-status a")
    expect(link).to_have_attribute(
        "href", f"/api/exports/{link.get_attribute('href').split('/')[3]}/download/"
    )
    exports = site.api().get(link.get_attribute("href").removesuffix("download/"))
    assert (exports["status"], exports["done"], exports["total"]) == ("done", 30, 30)


def test_a_small_selection_still_streams_from_the_link(open_page, site, new_job):
    job = new_job()
    name = job["items"][0]["image"]["name"]
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all&q={name}"))
    expect(page.locator("#grid")).to_have_attribute("data-state", "ready")

    with page.expect_download() as downloading:
        page.locator("#export").click()

    assert coco_images(downloading.value) == [job["items"][0]["image"]["path"]]
    expect(page.locator("#export-status")).to_be_hidden()
