"""Groups (objects drawn in several parts): pick shapes with Shift+click (in File Labels or on the image),
Group (button or G) gives them one group id, Ungroup (button or Shift+G) takes it away; a group shows as
one object in File Labels and its parts share a dashed outline on the image."""

from __future__ import annotations

import pytest

from .helpers import api_square, click_image, expect, label_id, open_item, settled, shape_rows

pytestmark = pytest.mark.browser


def group_ids(site, item_id):
    return {s["id"]: s.get("group_id") for s in site.api().get(f"/api/items/{item_id}/state/")["shapes"]}


def test_shapes_picked_in_the_list_are_grouped_by_button_and_ungrouped_by_shift_g(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    first = api_square(site, item["id"], label_id(job, "cat"), 100, 100, 80)
    second = api_square(site, item["id"], label_id(job, "cat"), 300, 100, 80)
    alone = api_square(site, item["id"], label_id(job, "dog"), 100, 300, 60)
    page = open_page("demo")
    open_item(page, site, item["id"])
    expect(shape_rows(page)).to_have_count(3)
    group_button = page.get_by_role("button", name="Group", exact=True)
    expect(group_button).to_be_disabled()

    page.locator(f'.shape-row[data-shape-id="{first}"]').click()
    page.locator(f'.shape-row[data-shape-id="{second}"]').click(modifiers=["Shift"])
    expect(page.locator(".group-hint")).to_have_text("2 selected")
    expect(group_button).to_be_enabled()
    group_button.click()
    settled(page)

    groups = group_ids(site, item["id"])
    assert groups[first] is not None
    assert groups[first] == groups[second]
    assert groups[alone] is None
    # One object in File Labels, its two parts under it; the third shape stays on its own.
    entry = page.locator("#shape-list > li.group-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_have_attribute("data-group-id", groups[first])
    expect(entry.locator(".group-count")).to_have_text("2 parts")
    expect(entry.locator(".shape-row")).to_have_count(2)
    expect(page.locator("#shape-list > li.shape-row")).to_have_count(1)
    # On the image the parts share the group's dashed outline.
    expect(page.locator("#canvas .shape.group-linked")).to_have_count(2)
    expect(page.locator(f'#canvas .shape[data-shape-id="{alone}"]')).not_to_have_class("group-linked")

    # Clicking the object picks every part; Shift+G ungroups them.
    entry.locator(".group-head").click()
    expect(entry).to_have_class("group-entry group-selected")
    page.keyboard.press("Shift+G")
    settled(page)
    assert all(g is None for g in group_ids(site, item["id"]).values())
    expect(page.locator("#shape-list .group-entry")).to_have_count(0)
    expect(page.locator("#shape-list > li.shape-row")).to_have_count(3)
    expect(page.locator("#canvas .shape.group-linked")).to_have_count(0)


def test_shapes_picked_on_the_image_are_grouped_by_g_and_a_reload_keeps_the_group(open_page, site, new_job):
    job = new_job()
    item = job["items"][1]
    first = api_square(site, item["id"], label_id(job, "cat"), 100, 100, 80)
    second = api_square(site, item["id"], label_id(job, "dog"), 300, 100, 80)
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.keyboard.press("e")
    click_image(page, 140, 140)
    page.keyboard.down("Shift")
    click_image(page, 340, 140)
    page.keyboard.up("Shift")
    expect(page.locator(f'#canvas .shape[data-shape-id="{first}"]')).to_have_class("shape group-picked")
    page.keyboard.press("g")
    settled(page)
    groups = group_ids(site, item["id"])
    assert groups[first] and groups[first] == groups[second]

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "true")
    entry = page.locator("#shape-list .group-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("cat, dog")
    expect(page.locator("#canvas .shape.group-linked")).to_have_count(2)

    # One part picked on the image, Ungroup takes it (and the group's only other part stays grouped alone).
    page.keyboard.press("e")
    click_image(page, 340, 140)
    page.get_by_role("button", name="Ungroup").click()
    settled(page)
    groups = group_ids(site, item["id"])
    assert groups[second] is None
    assert groups[first] is not None
