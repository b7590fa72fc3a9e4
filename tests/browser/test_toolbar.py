"""Toolbar: undo/redo by button and keys and after a reload; zoom that keeps the point under the cursor;
delete all; hide/show; drag a vertex and a shape; insert and remove a vertex; reset; fullscreen."""

from __future__ import annotations

import pytest

from .helpers import (
    api_square,
    click_image,
    client_point,
    drag,
    draw_polygon,
    expect,
    label_id,
    open_item,
    settled,
    shape_points,
    shape_rows,
    square_selected_in_edit_tool,
)

pytestmark = pytest.mark.browser

TRIANGLE = [(100, 100), (300, 120), (180, 300)]


def test_undo_and_redo_by_button_and_keys_and_after_a_reload(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    draw_polygon(page, TRIANGLE, label="cat")
    settled(page)
    expect(shape_rows(page)).to_have_count(1)

    page.keyboard.press("Control+z")  # a polygon drawn and closed is one action: the whole triangle goes
    settled(page)
    expect(shape_rows(page)).to_have_count(0)
    expect(page.locator("#canvas .draft.mine .vertex")).to_have_count(0)

    page.get_by_role("button", name="Redo").click()
    settled(page)
    expect(shape_rows(page)).to_have_count(1)

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "true")
    expect(shape_rows(page)).to_have_count(1)
    page.get_by_role("button", name="Undo").click()  # the undo history survived the reload
    settled(page)
    expect(shape_rows(page)).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    settled(page)
    expect(shape_rows(page)).to_have_count(1)
    page.keyboard.press("Control+z")
    settled(page)
    expect(shape_rows(page)).to_have_count(0)
    page.keyboard.press("Control+y")
    settled(page)
    expect(shape_rows(page)).to_have_count(1)
    assert len(shape_points(site, item["id"])) == 1


def test_nothing_to_undo_is_said_on_the_page(open_page, site, new_job):
    job = new_job()
    page = open_page("demo")
    open_item(page, site, job["items"][0]["id"])
    page.keyboard.press("Control+z")
    expect(page.locator(".refusal[data-code=nothing_to_undo]")).to_be_visible()


def test_zoom_keeps_the_point_under_the_cursor(open_page, site, new_job):
    job = new_job()
    page = open_page("demo")
    open_item(page, site, job["items"][0]["id"])
    cx, cy = client_point(page, 500, 350)
    scale = page.evaluate("window.polylogLabel.renderer.scale")
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    page.wait_for_function(f"window.polylogLabel.renderer.scale > {scale * 1.2}")
    x, y = page.evaluate(f"window.polylogLabel.renderer.toImage({cx}, {cy})")
    assert (x, y) == pytest.approx((500, 350), abs=0.5)

    zoomed = page.evaluate("window.polylogLabel.renderer.scale")
    page.get_by_role("button", name="Zoom out").click()
    assert page.evaluate("window.polylogLabel.renderer.scale") == pytest.approx(zoomed * 0.8)
    page.keyboard.press("+")
    assert page.evaluate("window.polylogLabel.renderer.scale") == pytest.approx(zoomed)
    page.keyboard.press("-")
    page.get_by_role("button", name="Zoom in").click()
    assert page.evaluate("window.polylogLabel.renderer.scale") == pytest.approx(zoomed)
    expect(page.locator("#zoom-level")).to_have_text(f"{round(zoomed * 100)}%")


def test_delete_all_asks_then_removes_every_shape(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "cat"), 50, 50, 80)
    api_square(site, item["id"], label_id(job, "dog"), 250, 150, 80)
    page = open_page("demo")
    open_item(page, site, item["id"])
    expect(shape_rows(page)).to_have_count(2)

    page.get_by_role("button", name="Delete all shapes").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete all 2 shapes")
    dialog.get_by_role("button", name="Delete all").click()
    settled(page)
    expect(shape_rows(page)).to_have_count(0)
    expect(page.locator("#canvas .shape")).to_have_count(0)
    assert shape_points(site, item["id"]) == []


def test_hide_and_show_a_shape(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "cat"), 50, 50, 80)
    page = open_page("demo")
    open_item(page, site, item["id"])
    shape = page.locator("#canvas .shape")
    shape_rows(page).first.click()  # selects it (and switches to the edit tool)
    page.keyboard.press("h")
    expect(shape).to_be_hidden()
    expect(shape_rows(page).first).to_have_class("shape-row selected hidden-shape")
    page.get_by_role("button", name="Show shape", exact=True).click()
    expect(shape).to_be_visible()
    page.get_by_role("button", name="Hide or show shape").click()
    expect(shape).to_be_hidden()
    page.keyboard.press("h")
    expect(shape).to_be_visible()


def test_drag_a_vertex_drag_the_shape_then_reset_it(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "dog"), 100, 100, 100)
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.keyboard.press("e")
    click_image(page, 150, 150)  # select
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)

    drag(page, (100, 100), (60, 70))
    settled(page)
    [points] = shape_points(site, item["id"])
    assert points[0] == pytest.approx([60, 70], abs=1)
    assert points[1:] == [[200, 100], [200, 200], [100, 200]]

    drag(page, (150, 150), (190, 170))
    settled(page)
    [points] = shape_points(site, item["id"])
    assert [c for p in points for c in p] == pytest.approx([100, 90, 240, 120, 240, 220, 140, 220], abs=1)

    page.get_by_role("button", name="Reset shape").click()
    settled(page)
    expect(page.locator("#canvas .shape polygon")).to_have_attribute(
        "points", "100,100 200,100 200,200 100,200"
    )
    assert shape_points(site, item["id"]) == [[[100, 100], [200, 100], [200, 200], [100, 200]]]


def test_insert_a_vertex_on_an_edge_and_remove_vertices(open_page, site, new_job):
    page, job, item = square_selected_in_edit_tool(open_page, site, new_job, 100, 100, 100)

    page.mouse.dblclick(*client_point(page, 150, 100))  # the top edge
    settled(page)
    expect(page.locator("#canvas .shape .vertex")).to_have_count(5)
    [points] = shape_points(site, item["id"])
    assert points[1] == pytest.approx([150, 100], abs=1)

    click_image(page, 150, 100, button="right")  # the new vertex
    settled(page)
    expect(page.locator("#canvas .shape .vertex")).to_have_count(4)

    page.keyboard.down("Alt")
    click_image(page, 200, 200)
    page.keyboard.up("Alt")
    settled(page)
    expect(page.locator("#canvas .shape .vertex")).to_have_count(3)
    assert shape_points(site, item["id"]) == [[[100, 100], [200, 100], [100, 200]]]

    click_image(page, 110, 110)
    drag(page, (100, 200), (100, 200))  # a press without a move selects the vertex (no command)
    page.keyboard.press("Delete")  # three vertices: removing one is refused, the shape stays
    expect(page.locator(".refusal[data-code=too_few_vertices]")).to_be_visible()
    assert len(shape_points(site, item["id"])[0]) == 3


def test_fullscreen_by_button_and_key(open_page, site, new_job):
    job = new_job()
    page = open_page("demo")
    open_item(page, site, job["items"][0]["id"])
    page.get_by_role("button", name="Fullscreen").click()
    page.wait_for_function("document.fullscreenElement && document.fullscreenElement.id === 'label-app'")
    page.keyboard.press("f")
    page.wait_for_function("document.fullscreenElement === null")
