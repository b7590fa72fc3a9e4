"""Leaving the labeling page: "Back to data labeling preview" asks to save; Yes saves, No discards what
changed since the last save."""

from __future__ import annotations

import pytest

from .helpers import draw_polygon, expect, open_item, settled, shape_rows

pytestmark = pytest.mark.browser


def leave(page, answer: str) -> None:
    page.get_by_role("button", name="Back to data labeling preview").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Save?")
    dialog.get_by_role("button", name=answer, exact=True).click()
    expect(page.locator("#job-page")).to_be_visible()


def test_no_discards_the_changes_since_the_last_save_and_yes_saves(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    draw_polygon(page, [(50, 50), (150, 50), (100, 150)], label="cat")
    page.keyboard.press("Control+s")
    expect(page.locator("#item-status")).to_have_attribute("data-saved", "true")
    draw_polygon(page, [(300, 300), (400, 300), (350, 400)], label="dog")
    settled(page)
    expect(shape_rows(page)).to_have_count(2)

    leave(page, "No")
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert len(state["shapes"]) == 1
    assert state["drafts"] == []

    open_item(page, site, item["id"])
    expect(shape_rows(page)).to_have_count(1)
    draw_polygon(page, [(300, 300), (400, 300), (350, 400)], label="dog")
    settled(page)
    leave(page, "Yes")
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert len(state["shapes"]) == 2
    assert state["saved_seq"] == state["seq"]
    expect(page.locator('[data-count="labeled"]')).to_have_text("(1)")
