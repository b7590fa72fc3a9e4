"""Replay: an item's events as a timeline; step or jump to a point and see the shapes as they were;
filter by person; compare two points."""

from __future__ import annotations

import pytest

from .helpers import api_square, expect

pytestmark = pytest.mark.browser


def test_the_timeline_steps_filters_and_compares(open_page, site, new_job):
    job = new_job()
    item_id = job["items"][0]["id"]
    cat, dog = (next(c["id"] for c in job["label_classes"] if c["name"] == n) for n in ("cat", "dog"))
    first = api_square(site, item_id, cat, 50, 50, 100)  # seq 1, demo
    ann = site.api("ann")
    ann.command(
        item_id,
        {
            "type": "add_polygon",
            "shape_id": "2b3c4d5e-0000-4000-8000-000000000002",
            "label_class_id": dog,
            "points": [[300, 300], [400, 300], [350, 400]],
        },
    )  # seq 2
    site.api().command(item_id, {"type": "move_shape", "shape_id": first, "dx": 20, "dy": 10})  # seq 3
    site.api().command(item_id, {"type": "save"})  # seq 4

    page = open_page("demo")
    page.goto(site.url(f"/items/{item_id}/replay/"))
    expect(page.locator("body")).to_have_attribute("data-seq", "4")
    timeline = page.locator("#timeline li")
    expect(timeline).to_have_count(4)
    expect(timeline.nth(1)).to_contain_text("ann added a dog polygon of 3 vertices")
    expect(page.locator("#canvas .shape")).to_have_count(2)

    timeline.first.click()
    expect(page.locator("body")).to_have_attribute("data-seq", "1")
    expect(page.locator("#canvas .shape")).to_have_count(1)
    page.keyboard.press("ArrowRight")
    expect(page.locator("body")).to_have_attribute("data-seq", "2")
    expect(page.locator("#canvas .shape")).to_have_count(2)
    page.get_by_role("button", name="Previous event").click()
    expect(page.locator("body")).to_have_attribute("data-seq", "1")

    page.get_by_label("Person").select_option(label="ann")
    expect(timeline).to_have_count(1)
    page.get_by_role("button", name="Next event").click()
    expect(page.locator("body")).to_have_attribute("data-seq", "2")
    page.get_by_label("Person").select_option(label="Everyone")

    page.get_by_role("button", name="Last").click()
    expect(page.locator("body")).to_have_attribute("data-seq", "4")
    page.get_by_label("Compare with seq").fill("1")
    page.get_by_label("Compare with seq").press("Enter")
    expect(page.locator("#diff .added")).to_have_count(1)
    expect(page.locator("#diff .changed")).to_have_count(1)
    expect(page.locator("#diff .added")).to_contain_text("dog")
    expect(page.locator("#canvas .shape.diff-changed")).to_have_count(1)
