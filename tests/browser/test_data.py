"""Data on the job page: Add data uploads files and the import shows in the history; Synchronize; select
the images of a page and delete them, with the source-files checkbox and its warning."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import png_bytes

from .helpers import expect

pytestmark = pytest.mark.browser


def grid_ready(page) -> None:
    expect(page.locator("#grid")).to_have_attribute("data-state", "ready")


def test_add_data_history_synchronize_and_delete_with_source_files(open_page, site, tmp_path):
    api = site.api()
    dataset = api.post("/api/datasets/", {"name": f"Uploads {uuid.uuid4().hex[:6]}"})
    job = api.post("/api/jobs/", {"name": f"Upload job {uuid.uuid4().hex[:6]}", "dataset": dataset["id"]})
    files = []
    for n, colour in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200)]):
        path = tmp_path / f"upload_{n}.png"
        path.write_bytes(png_bytes(64, 48, colour))
        files.append(str(path))

    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_ready(page)
    expect(page.locator("#grid .empty")).to_be_visible()

    page.get_by_role("button", name="Add data").click()
    dialog = page.locator("#add-data-dialog")
    dialog.get_by_label("Files", exact=True).set_input_files(files)
    dialog.get_by_role("button", name="Import").click()
    expect(dialog.locator(".progress-line")).to_contain_text("done")
    expect(dialog.locator(".progress-line")).to_contain_text("3 added")
    dialog.get_by_role("button", name="View historical records").click()
    expect(dialog.locator("table.history tbody tr")).to_have_count(1)
    expect(dialog.locator("table.history tbody tr")).to_contain_text("demo")
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("#grid .tile")).to_have_count(3)  # the import synchronised the job

    page.get_by_role("button", name="Synchronize new data").click()
    expect(page.locator(".toast")).to_contain_text("No new data")

    expect(page.get_by_role("button", name="Delete")).to_be_disabled()
    page.get_by_label("Select images on current page").check()
    expect(page.locator("#selection-count")).to_have_text("3 selected")
    page.get_by_role("button", name="Delete").click()
    delete = page.locator("#delete-dialog")
    expect(delete).to_contain_text("Delete 3 selected images")
    expect(delete.locator(".warning")).to_contain_text("cannot be undone")
    delete.get_by_label("Delete the source files").check()
    delete.get_by_role("button", name="Delete").click()
    expect(delete).to_be_hidden()
    grid_ready(page)
    expect(page.locator("#grid .tile")).to_have_count(0)
    expect(page.locator('[data-count="all"]')).to_have_text("(0)")
    deletions = api.get(f"/api/jobs/{job['id']}/deletions/")
    assert deletions[0]["delete_source_files"] is True
    assert len(deletions[0]["item_ids"]) == 3


def test_deleting_source_files_another_job_uses_is_refused_in_the_dialog(open_page, site, new_job):
    job = new_job()
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    grid_ready(page)
    page.locator("#grid .tile .pick input").first.check()
    page.get_by_role("button", name="Delete").click()
    delete = page.locator("#delete-dialog")
    delete.get_by_label("Delete the source files").check()
    delete.get_by_role("button", name="Delete").click()
    expect(delete.locator(".error")).to_be_visible()
    expect(delete.locator(".error")).to_have_attribute("data-code", "source_file_in_use")
    assert len(site.api().get(f"/api/jobs/{job['id']}/items/?page_size=500")["results"]) == len(job["items"])
