"""Drawing: a polygon by clicks, closed on its first vertex, labeled; it shows in File Labels in its
label's colour; after a save the image is Labeled on the job page and the counts follow."""

from __future__ import annotations

import re

import pytest

from .helpers import draw_polygon, expect, open_item, settled, shape_rows

pytestmark = pytest.mark.browser

TRIANGLE = [(100, 100), (300, 120), (180, 300)]


def test_a_polygon_drawn_by_clicks_is_labeled_listed_and_saved(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    dog = next(label for label in job["label_classes"] if label["name"] == "dog")
    page = open_page("demo")
    open_item(page, site, item["id"])

    draw_polygon(page, TRIANGLE, label="dog")
    settled(page)

    expect(shape_rows(page)).to_have_count(1)
    row = shape_rows(page).first
    expect(row).to_contain_text("dog")
    expect(row.locator(".swatch")).to_have_css("background-color", "rgb(60, 180, 75)")
    polygon = page.locator("#canvas .shape polygon")
    expect(polygon).to_have_count(1)
    expect(polygon).to_have_attribute("fill", dog["color"])
    expect(page.locator("#canvas .shape .vertex")).to_have_count(3)

    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["drafts"] == []
    assert [s["label_class_id"] for s in state["shapes"]] == [dog["id"]]
    flat = [c for point in state["shapes"][0]["points"] for c in point]
    assert flat == pytest.approx([c for point in TRIANGLE for c in point], abs=1.0)

    page.get_by_role("button", name="Save").click()
    expect(page.locator("#item-status")).to_have_attribute("data-saved", "true")

    page.goto(site.url(f"/jobs/{job['id']}/?status=labeled"))
    expect(page.locator("#grid")).to_have_attribute("data-state", "ready")
    expect(page.locator("#grid .tile")).to_have_count(1)
    expect(page.locator(f'#grid .tile[data-item-id="{item["id"]}"]')).to_be_visible()
    expect(page.locator('[data-count="labeled"]')).to_have_text("(1)")
    total = len(job["items"])
    expect(page.locator('[data-count="unlabeled"]')).to_have_text(f"({total - 1})")
    expect(page.locator(f'[data-label-class-id="{dog["id"]}"] .label-count')).to_have_text("1 image")


def test_the_picker_after_closing_is_a_setting_with_the_active_label_preselected(open_page, site, new_job):
    job = new_job()
    item = job["items"][1]
    page = open_page("demo")
    open_item(page, site, item["id"])
    draw_polygon(page, TRIANGLE, label="bird")
    settled(page)

    page.get_by_label("Ask after closing").check()
    page.mouse.move(1, 1)
    for point in [(350, 50), (450, 60), (400, 150)]:
        page.mouse.click(*page.evaluate("p => window.polylogLabel.renderer.toClient(p)", list(point)))
    page.keyboard.press("Enter")
    picker = page.get_by_role("dialog", name="Choose a label")
    expect(picker.locator("button.active")).to_have_text(re.compile("bird"))
    page.keyboard.press("1")  # the picker's own keys: 1 is cat
    expect(picker).to_have_count(0)
    settled(page)
    expect(shape_rows(page)).to_have_count(2)
    expect(shape_rows(page).nth(1)).to_contain_text("cat")
    bar = page.get_by_role("toolbar", name="Active label")
    expect(bar.locator("button.active")).to_contain_text("cat")  # what the picker chose is active now
