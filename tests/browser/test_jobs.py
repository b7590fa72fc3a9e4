"""The jobs page: progress per job, the job-type filter, and a manager creating a job with its label
classes and colours."""

from __future__ import annotations

import uuid

import pytest

from .helpers import expect

pytestmark = pytest.mark.browser

DEMO_JOB = "Demo: PASCAL VOC segmentation"


def test_it_lists_jobs_with_progress_and_filters_by_type(open_page, site):
    page = open_page("demo")
    page.goto(site.url("/"))
    row = page.locator("tr", has=page.get_by_role("link", name=DEMO_JOB))
    expect(row.locator(".progress-text")).to_have_text("3 / 30")
    page.locator("#type-filter").get_by_label("Job type").select_option("image_segmentation")
    expect(page).to_have_url(site.url("/?type=image_segmentation"))
    expect(page.get_by_role("link", name=DEMO_JOB)).to_be_visible()


def test_a_manager_creates_a_job_with_label_classes(open_page, site):
    name = f"Street scenes {uuid.uuid4().hex[:6]}"
    page = open_page("demo")
    page.goto(site.url("/"))
    page.get_by_role("button", name="New job").click()
    dialog = page.locator("#new-job-dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Dataset").select_option(label="Demo photos (30 images)")
    dialog.get_by_label("Label name").fill("tram")
    dialog.get_by_label("Label colour").fill("#123456")
    dialog.get_by_role("button", name="Add a label class").click()
    dialog.get_by_label("Label name").nth(1).fill("cyclist")
    dialog.get_by_role("button", name="Create").click()

    expect(page.locator("#job-page h1")).to_have_text(name)
    expect(page.locator("#label-counts")).to_contain_text("tram")
    expect(page.locator("#label-counts")).to_contain_text("cyclist")
    expect(page.locator('[data-count="all"]')).to_have_text("(30)")
    job = next(j for j in site.api().get("/api/jobs/") if j["name"] == name)
    assert {(c["name"], c["color"]) for c in job["label_classes"]} >= {("tram", "#123456")}
    assert job["role"] == "manager"


def test_a_job_that_refuses_shows_why_in_the_dialog(open_page, site):
    page = open_page("demo")
    page.goto(site.url("/"))
    page.get_by_role("button", name="New job").click()
    dialog = page.locator("#new-job-dialog")
    dialog.get_by_label("Name", exact=True).fill("Twins")
    dialog.get_by_label("Dataset").select_option(label="Demo photos (30 images)")
    dialog.get_by_label("Label name").fill("same")
    dialog.get_by_role("button", name="Add a label class").click()
    dialog.get_by_label("Label name").nth(1).fill("same")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.locator(".error")).to_contain_text("must differ")
    expect(dialog).to_be_visible()
