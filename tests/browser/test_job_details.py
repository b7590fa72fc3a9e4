"""Job details: tabs with counts (Unlabeled by default), filters that change the grid and the URL, pages."""

from __future__ import annotations

import re

import pytest

from .conftest import log_in
from .helpers import api_square, expect, label_id

pytestmark = pytest.mark.browser

DEMO_JOB = "Demo: PASCAL VOC segmentation"


def grid_shows(page, query: str) -> None:
    """Wait until the grid has rendered the answer to exactly this URL query."""
    expect(page.locator("#grid")).to_have_attribute("data-query", query)
    expect(page.locator("#grid")).to_have_attribute("data-state", "ready")


def test_it_opens_the_demo_job_on_unlabeled_with_counts_and_pages(open_page, site):
    page = open_page(None)  # no session yet: through the login form
    log_in(page, site, "demo")
    page.get_by_role("link", name=DEMO_JOB).first.click()
    grid_shows(page, "")

    expect(page.get_by_role("tab", name=re.compile("Unlabeled"))).to_have_attribute("aria-selected", "true")
    expect(page.locator('[data-count="all"]')).to_have_text("(30)")
    expect(page.locator('[data-count="unlabeled"]')).to_have_text("(27)")
    expect(page.locator('[data-count="labeled"]')).to_have_text("(3)")
    labels = site.seed["labels"]
    expect(page.locator(f'[data-label-class-id="{labels["car"]}"] .label-count')).to_have_text("2 images")
    expect(page.locator(f'[data-label-class-id="{labels["person"]}"] .label-count')).to_have_text("1 image")
    expect(page.locator("#grid .tile")).to_have_count(24)
    expect(page.locator("#grid .tile[data-status=labeled]")).to_have_count(0)

    page.get_by_role("button", name="Next ›").click()
    grid_shows(page, "page=2")
    assert page.url.endswith("?page=2")
    expect(page.locator("#grid .tile")).to_have_count(3)
    expect(page.locator(".page-info")).to_have_text("Page 2 of 2 · 27 images")

    page.get_by_role("button", name="‹ Previous").click()
    grid_shows(page, "")
    expect(page.locator("#grid .tile")).to_have_count(24)


def test_filters_change_the_grid_and_the_url_and_a_reload_restores_them(open_page, site):
    seed = site.seed
    labels = seed["labels"]
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{seed['job_id']}/"))
    grid_shows(page, "")

    page.get_by_role("tab", name=re.compile(r"^Labeled")).click()
    grid_shows(page, "status=labeled")
    expect(page.locator("#grid .tile")).to_have_count(3)

    page.locator(f'[data-label-class-id="{labels["car"]}"] input').check()
    grid_shows(page, f"status=labeled&label_class={labels['car']}")
    expect(page.locator("#grid .tile")).to_have_count(2)
    assert f"label_class={labels['car']}" in page.url

    page.locator(f'[data-label-class-id="{labels["person"]}"] input').check()
    both = ",".join(str(i) for i in sorted([labels["car"], labels["person"]]))
    grid_shows(page, f"status=labeled&label_class={both}")
    expect(page.locator("#grid .tile")).to_have_count(3)

    page.get_by_label("Labeled by").select_option(label="ann")
    grid_shows(page, f"status=labeled&label_class={both}&labeled_by={seed['users']['ann']}")
    expect(page.locator("#grid .tile")).to_have_count(1)

    page.get_by_role("button", name="Clear filters").click()
    grid_shows(page, "status=labeled")
    page.get_by_label("Example type").select_option("true")
    grid_shows(page, "status=labeled&hard_example=true")
    expect(page.locator("#grid .tile")).to_have_count(1)

    hard_name = seed["items"][-1]["name"]
    page.get_by_role("tab", name=re.compile("All statuses")).click()
    page.get_by_label("File name or path").fill(hard_name[:-4])
    grid_shows(page, f"status=all&hard_example=true&q={hard_name[:-4]}")
    expect(page.locator("#grid .tile .name")).to_have_text([hard_name])

    page.reload()
    grid_shows(page, f"status=all&hard_example=true&q={hard_name[:-4]}")
    expect(page.get_by_role("tab", name=re.compile("All statuses"))).to_have_attribute(
        "aria-selected", "true"
    )
    expect(page.get_by_label("Example type")).to_have_value("true")
    expect(page.get_by_label("File name or path")).to_have_value(hard_name[:-4])
    expect(page.locator("#grid .tile")).to_have_count(1)

    page.go_back()  # history: each filter change was a step
    grid_shows(page, "status=all&hard_example=true")


def test_the_void_label_class_is_a_filter_but_no_class_counted(open_page, site, new_job):
    job = new_job()
    api = site.api()
    void = api.post(f"/api/jobs/{job['id']}/label-classes/", {"name": "__ignore__", "color": "#e0e0c0"})
    item_id = job["items"][0]["id"]
    api_square(site, item_id, label_id(job, "cat"), 10, 10, 20)
    api_square(site, item_id, void["id"], 40, 10, 20)

    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_shows(page, "status=all")

    cat_row = page.locator(f'[data-label-class-id="{label_id(job, "cat")}"]')
    void_row = page.locator(f'[data-label-class-id="{void["id"]}"]')
    expect(cat_row.locator(".label-count")).to_have_text("1 image")
    expect(void_row.locator(".label-count")).to_have_text("void, not counted")
    void_row.get_by_role("checkbox").check()  # still a filter: the images with void regions
    grid_shows(page, f"status=all&label_class={void['id']}")
    expect(page.locator("#grid .tile")).to_have_count(1)
