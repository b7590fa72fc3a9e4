"""The job page follows the job socket: when someone saves a label, counts and tabs change without a
reload."""

from __future__ import annotations

import pytest

from .helpers import draw_polygon, expect, open_item

pytestmark = pytest.mark.browser


def test_counts_follow_a_save_made_in_another_browser(open_page, site, new_job):
    job = new_job()
    total = len(job["items"])
    watcher = open_page("demo")
    watcher.goto(site.url(f"/jobs/{job['id']}/"))
    expect(watcher.locator("#live-status")).to_have_text("live")
    expect(watcher.locator('[data-count="labeled"]')).to_have_text("(0)")

    labeler = open_page("ann")
    item = job["items"][0]
    open_item(labeler, site, item["id"])
    draw_polygon(labeler, [(60, 60), (200, 60), (120, 200)], label="cat")
    labeler.keyboard.press("Control+s")

    expect(watcher.locator('[data-count="labeled"]')).to_have_text("(1)")
    expect(watcher.locator('[data-count="unlabeled"]')).to_have_text(f"({total - 1})")
    cat = next(c for c in job["label_classes"] if c["name"] == "cat")
    expect(watcher.locator(f'[data-label-class-id="{cat["id"]}"] .label-count')).to_have_text("1 image")
    expect(watcher.locator(f'#grid .tile[data-item-id="{item["id"]}"]')).to_have_count(0)  # left Unlabeled
