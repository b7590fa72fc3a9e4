"""Attributes (issue 22 point 6) on the labeling page: the selected shape's values in the panel, edited by
keyboard, another person's change seen live, the page's fold of attributes_set and of a relabel equal to
the server's state."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import LIVE_MS, api_square, click_image, expect, label_id, open_item, settled

pytestmark = pytest.mark.browser

DECLARED = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "colour", "kind": "select", "options": ["red", "green", "blue"]},
    {"name": "count", "kind": "number", "min": 0, "max": 20, "default": 2},
    {"name": "note", "kind": "text"},
]

FOLDED_ATTRIBUTES = """() => Object.fromEntries(
  [...window.polylogLabel.store.state.shapes.values()].map((s) => [s.id, s.attributes])
)"""


def declare(site: Any, job: dict[str, Any], label: str = "dog") -> None:
    site.api().patch(f"/api/jobs/{job['id']}/label-classes/{label_id(job, label)}/", {"attributes": DECLARED})


def server_attributes(site: Any, item_id: int) -> dict[str, dict[str, Any]]:
    return {
        s["id"]: s.get("attributes", {}) for s in site.api().get(f"/api/items/{item_id}/state/")["shapes"]
    }


def selected_square(
    open_page: Any, site: Any, new_job: Any, username: str = "demo"
) -> tuple[Any, Any, Any, str]:
    job = new_job()
    declare(site, job)
    item = job["items"][0]
    shape_id = api_square(site, item["id"], label_id(job, "dog"), 100, 100, 120)
    page = open_page(username)
    open_item(page, site, item["id"])
    page.keyboard.press("e")
    click_image(page, 160, 160)
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)
    return page, job, item, shape_id


def test_a_shapes_attributes_are_edited_by_keyboard_alone(open_page, site, new_job):
    page, job, item, shape_id = selected_square(open_page, site, new_job)
    editor = page.locator("#attributes")
    # Unset: each shows the class's default.
    expect(editor.get_by_label("Attribute occluded")).not_to_be_checked()
    expect(editor.get_by_label("Attribute colour")).to_have_value("red")
    expect(editor.get_by_label("Attribute count")).to_have_value("2")
    expect(editor.locator(".attribute-row.is-default")).to_have_count(4)

    page.keyboard.press("i")  # the shortcut focuses the first attribute
    expect(editor.get_by_label("Attribute occluded")).to_be_focused()
    page.keyboard.press(" ")  # Space toggles the checkbox
    page.keyboard.press("ArrowDown")  # to the next attribute
    expect(editor.get_by_label("Attribute colour")).to_be_focused()
    page.keyboard.press("ArrowDown")  # a select's arrows choose its option
    page.keyboard.press("Tab")
    expect(editor.get_by_label("Attribute count")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Shift+ArrowUp")  # 2 + 1 + 1 + 10
    page.keyboard.press("Tab")
    page.keyboard.type("dented door")
    page.keyboard.press("Enter")
    settled(page)

    values = {"occluded": True, "colour": "green", "count": 14.0, "note": "dented door"}
    assert server_attributes(site, item["id"])[shape_id] == values
    assert page.evaluate(FOLDED_ATTRIBUTES)[shape_id] == values
    expect(editor.locator(".attribute-row.is-default")).to_have_count(0)
    # The keys typed in the editor were the editor's: "d" of "dented" did not choose the polygon tool.
    expect(page.locator("#stage")).to_have_class("stage mode-edit")
    page.keyboard.press("Escape")  # back to the image, where the keys are shortcuts again
    page.keyboard.press("Control+z")  # the text was one undo action of its own
    expect(editor.get_by_label("Attribute note")).to_have_value("", timeout=LIVE_MS)
    settled(page)
    assert server_attributes(site, item["id"])[shape_id] == {k: v for k, v in values.items() if k != "note"}


def test_another_persons_change_shows_live_and_a_relabel_goes_back_to_the_defaults(open_page, site, new_job):
    page, job, item, shape_id = selected_square(open_page, site, new_job, "ann")
    editor = page.locator("#attributes")
    site.api().command(
        item["id"],
        {"type": "set_attributes", "shape_id": shape_id, "values": {"colour": "blue", "occluded": True}},
    )
    expect(editor.get_by_label("Attribute colour")).to_have_value("blue", timeout=LIVE_MS)
    expect(editor.get_by_label("Attribute occluded")).to_be_checked()
    # The shape ann has selected changed under her: the notification area says who did what.
    expect(page.locator("#notices")).to_contain_text("demo changed the attributes of dog #1")
    expect(editor.locator(".attribute-row.is-default")).to_have_count(2)

    site.api().command(
        item["id"], {"type": "set_attributes", "shape_id": shape_id, "values": {"colour": None}}
    )
    expect(editor.get_by_label("Attribute colour")).to_have_value("red", timeout=LIVE_MS)
    site.api().command(
        item["id"], {"type": "relabel_shape", "shape_id": shape_id, "label_class_id": label_id(job, "cat")}
    )
    expect(editor).to_contain_text("cat declares no attributes", timeout=LIVE_MS)
    assert page.evaluate(FOLDED_ATTRIBUTES) == server_attributes(site, item["id"]) == {shape_id: {}}
    site.api().command(item["id"], {"type": "undo"})  # the relabel's undo brings the values back
    expect(editor.get_by_label("Attribute occluded")).to_be_checked(timeout=LIVE_MS)
    assert server_attributes(site, item["id"])[shape_id] == {"occluded": True}


def test_the_attribute_key_says_why_when_there_is_nothing_to_edit(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "cat"), 100, 100, 120)
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.keyboard.press("i")
    expect(page.locator("#notices")).to_contain_text("Select a shape to edit its attributes.")
    page.keyboard.press("e")
    click_image(page, 160, 160)
    page.keyboard.press("i")
    expect(page.locator("#notices")).to_contain_text("cat declares no attributes")


def test_a_managers_new_declarations_reach_an_open_labeling_page(open_page, site, new_job):
    page, job, item, shape_id = selected_square(open_page, site, new_job, "ann")
    editor = page.locator("#attributes")
    expect(editor.locator(".attribute-row")).to_have_count(4)
    dog = label_id(job, "dog")
    declared = [{"name": "truncated", "kind": "checkbox", "default": True}, DECLARED[1]]
    site.api().patch(f"/api/jobs/{job['id']}/label-classes/{dog}/", {"attributes": declared})

    expect(editor.locator(".attribute-row")).to_have_count(2, timeout=LIVE_MS)
    expect(editor.get_by_label("Attribute truncated")).to_be_checked()  # the new default
    page.keyboard.press("i")
    page.keyboard.press(" ")
    settled(page)
    assert server_attributes(site, item["id"])[shape_id] == {"truncated": False}


def test_an_auditor_reads_the_values_and_changes_none(open_page, site, new_job):
    job = new_job(members=("ann",))
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "bob", "role": "auditor"})
    declare(site, job)
    item = job["items"][0]
    shape_id = api_square(site, item["id"], label_id(job, "dog"), 100, 100, 120)
    site.api().command(
        item["id"], {"type": "set_attributes", "shape_id": shape_id, "values": {"colour": "green"}}
    )
    page = open_page("bob")
    open_item(page, site, item["id"])
    click_image(page, 160, 160)
    editor = page.locator("#attributes")
    expect(editor.get_by_label("Attribute colour")).to_have_value("green")
    for name in ("occluded", "colour", "count", "note"):
        expect(editor.get_by_label(f"Attribute {name}")).to_be_disabled()
    page.keyboard.press("i")
    expect(page.locator(".refusal[data-code=permission_denied]").first).to_be_visible()
    assert server_attributes(site, item["id"])[shape_id] == {"colour": "green"}
