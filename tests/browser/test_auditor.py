"""The auditor's read-only view: an auditor sees the image's shapes but has no drawing tool; clicking on
the image adds nothing, dragging a shape is refused on the page, keys that would change something do
nothing, and no command reaches the item's history."""

from __future__ import annotations

import pytest

from .helpers import api_square, click_image, drag, expect, open_item, shape_points, shape_rows

pytestmark = pytest.mark.browser


def test_an_auditor_sees_the_shapes_but_cannot_draw_or_change_anything(open_page, site, new_job):
    job = new_job(members=("ann",))
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "bob", "role": "auditor"})
    item = job["items"][0]
    cat = job["label_classes"][0]["id"]
    shape_id = api_square(site, item["id"], cat, 100, 100, 120)
    before = site.api().get(f"/api/items/{item['id']}/state/")

    page = open_page("bob")
    open_item(page, site, item["id"])
    # The shapes are there, on the image and in File Labels.
    expect(shape_rows(page)).to_have_count(1)
    expect(page.locator(f'#canvas .shape[data-shape-id="{shape_id}"] polygon')).to_have_count(1)
    expect(page.locator("body")).to_have_attribute("data-read-only", "true")
    expect(page.locator("#hint")).to_contain_text("Read only")

    # No drawing tool, and nothing that changes the image is enabled.
    expect(page.get_by_role("button", name="Polygon tool")).to_be_disabled()
    for name in ("Undo", "Redo", "Reset shape", "Delete all shapes", "Save", "Group", "Ungroup"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_disabled()
    expect(page.locator("#hard")).to_be_disabled()
    expect(shape_rows(page).locator("button.delete")).to_have_count(0)
    expect(page.locator("#class-list button.delete-label")).to_have_count(0)

    # D does not switch to drawing; clicks on the image add no vertex.
    page.keyboard.press("d")
    expect(page.locator("#stage")).to_have_class("stage mode-edit")
    for point in [(400, 300), (500, 320), (450, 420), (400, 300)]:
        click_image(page, *point)
    page.keyboard.press("Enter")
    expect(page.locator("#canvas .draft")).to_have_count(0)
    expect(page.get_by_role("dialog", name="Choose a label")).to_have_count(0)

    # Selecting to look is allowed; the selected row has no label menu.
    shape_rows(page).first.click()
    expect(shape_rows(page).first).to_have_class("shape-row selected")
    expect(page.locator("#shape-list select.relabel")).to_have_count(0)

    # Dragging the shape or pressing Delete is refused on the page, and snaps back.
    drag(page, (160, 160), (260, 260))
    expect(page.locator(".refusal[data-code=permission_denied]").first).to_be_visible()
    page.keyboard.press("Delete")
    page.keyboard.press("Control+z")
    expect(page.locator("#canvas .shape")).to_have_count(1)
    assert page.evaluate("document.body.dataset.pending") == "0"

    # Nothing was stored.
    after = site.api().get(f"/api/items/{item['id']}/state/")
    assert after["seq"] == before["seq"]
    assert shape_points(site, item["id"]) == [s["points"] for s in before["shapes"]]
    assert after["drafts"] == []
