"""Attributes on the job page (issue 22 point 6): a manager declares a label class's attributes in the
settings (the API's refusal shown as it says it), and the image grid filters by an attribute's value."""

from __future__ import annotations

import re

import pytest

from .helpers import api_square, expect, label_id

pytestmark = pytest.mark.browser


def test_a_manager_declares_attributes_and_sees_a_refusal_in_the_settings(open_page, site, new_job):
    job = new_job()
    cat = label_id(job, "cat")
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    page.get_by_role("button", name="Settings").click()
    dialog = page.locator("#settings-dialog")
    dialog.get_by_role("button", name="Attributes of cat").click()
    editor = dialog.locator(f'.attribute-editor[data-label-class-id="{cat}"]')

    editor.get_by_role("button", name="Add attribute").click()
    row = editor.locator(".attribute-declaration").last
    row.get_by_label("Attribute name").fill("colour")
    row.get_by_label("Attribute kind").select_option("select")
    row.get_by_label("Attribute options").fill("red, green")
    row.get_by_label("Attribute default").fill("blue")  # not one of its options: refused
    editor.get_by_role("button", name="Save attributes").click()
    expect(dialog.locator(".error")).to_contain_text("default")
    assert site.api().get(f"/api/jobs/{job['id']}/label-classes/{cat}/")["attributes"] == []

    row.get_by_label("Attribute default").fill("green")
    editor.get_by_role("button", name="Add attribute").click()
    second = editor.locator(".attribute-declaration").last
    second.get_by_label("Attribute name").fill("count")
    second.get_by_label("Attribute kind").select_option("number")
    second.get_by_label("Attribute min").fill("0")
    second.get_by_label("Attribute max").fill("9")
    editor.get_by_role("button", name="Save attributes").click()

    expect(dialog.get_by_role("button", name="Attributes of cat")).to_have_text("Attributes (2)")
    assert site.api().get(f"/api/jobs/{job['id']}/label-classes/{cat}/")["attributes"] == [
        {"name": "colour", "kind": "select", "default": "green", "options": ["red", "green"]},
        {"name": "count", "kind": "number", "default": 0.0, "min": 0.0, "max": 9.0},
    ]
    # Still open after the save, with what was saved; a removed one goes with the next save.
    editor = dialog.locator(f'.attribute-editor[data-label-class-id="{cat}"]')
    expect(editor.get_by_label("Attribute name")).to_have_count(2)
    editor.get_by_role("button", name="Remove attribute").first.click()
    editor.get_by_role("button", name="Save attributes").click()
    expect(dialog.get_by_role("button", name="Attributes of cat")).to_have_text("Attributes (1)")
    assert [
        a["name"] for a in site.api().get(f"/api/jobs/{job['id']}/label-classes/{cat}/")["attributes"]
    ] == ["count"]


def test_the_grid_filters_by_an_attribute_value_kept_in_the_url(open_page, site, new_job):
    job = new_job()
    cat = label_id(job, "cat")
    api = site.api()
    api.patch(
        f"/api/jobs/{job['id']}/label-classes/{cat}/",
        {"attributes": [{"name": "occluded", "kind": "checkbox"}, {"name": "note", "kind": "text"}]},
    )
    first, second, third = job["items"][:3]
    shape = api_square(site, first["id"], cat, 50, 50, 60)
    api.command(first["id"], {"type": "set_attributes", "shape_id": shape, "values": {"occluded": True}})
    api_square(site, second["id"], cat, 50, 50, 60)
    shape = api_square(site, third["id"], cat, 50, 50, 60)
    api.command(third["id"], {"type": "set_attributes", "shape_id": shape, "values": {"note": "blurry"}})
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    tiles = page.locator("#grid [data-item-id]")
    expect(tiles).not_to_have_count(0)

    page.get_by_label("Attribute", exact=True).select_option(label="cat: occluded")
    expect(page).to_have_url(re.compile(rf"attribute={cat}%3Aoccluded%3Dtrue"))
    expect(tiles).to_have_count(1)
    expect(page.locator(f'#grid [data-item-id="{first["id"]}"]')).to_have_count(1)
    page.get_by_label("Attribute value").select_option("false")  # no: the shapes never set read the default
    expect(tiles).to_have_count(2)
    expect(page.locator(f'#grid [data-item-id="{first["id"]}"]')).to_have_count(0)

    page.get_by_label("Attribute", exact=True).select_option(label="cat: note")
    page.get_by_label("Attribute value").fill("blurry")
    page.get_by_label("Attribute value").press("Enter")
    expect(tiles).to_have_count(1)
    expect(page.locator(f'#grid [data-item-id="{third["id"]}"]')).to_have_count(1)
    page.reload()  # the URL keeps it
    expect(page.get_by_label("Attribute value")).to_have_value("blurry")
    expect(tiles).to_have_count(1)
    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_label("Attribute", exact=True)).to_have_value("")
