"""Editing rules of the labeling page (issue 17): a vertex placed or dragged just outside the image lands on
its border and a shape moved past it stops there; panning (Space+drag, the middle button) never draws; one
deletion rule for Delete and Backspace (the selected vertex, else the selected shape), the selection
always visible."""

from __future__ import annotations

import pytest

from .helpers import (
    api_square,
    click_image,
    client_point,
    drag,
    expect,
    label_id,
    open_item,
    settled,
    shape_points,
    square_selected_in_edit_tool,
)

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 640, 480  # the generated photos (tests/live_servers.photos_write)
JUST_OUTSIDE_PX = 8  # screen pixels: inside the default tolerance (POLYLOG_CLAMP_TOLERANCE_PX, 16)
FAR_OUTSIDE_PX = 60


def beside(page, x, y, dx, dy):
    """The screen point (dx, dy) screen pixels away from image pixel (x, y)."""
    cx, cy = client_point(page, x, y)
    return cx + dx, cy + dy


def draft_points(site, item_id):
    return [d["points"] for d in site.api().get(f"/api/items/{item_id}/state/")["drafts"]]


def test_clicks_just_outside_the_image_land_on_its_border_and_far_outside_add_nothing(
    open_page, site, new_job
):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.keyboard.press("d")

    page.mouse.click(*beside(page, 0, 100, -JUST_OUTSIDE_PX, 0))  # left of the left edge
    page.mouse.click(
        *beside(page, WIDTH, 0, JUST_OUTSIDE_PX, -JUST_OUTSIDE_PX)
    )  # beyond the top right corner
    settled(page)
    expect(page.locator("#canvas .draft.mine .vertex")).to_have_count(2)

    # Far outside: nothing is sent, a short message says why.
    page.mouse.click(*beside(page, WIDTH, 300, FAR_OUTSIDE_PX, 0))
    expect(page.locator(".refusal[data-code=outside_image]")).to_be_visible()
    settled(page)
    expect(page.locator("#canvas .draft.mine .vertex")).to_have_count(2)
    [[left, corner]] = draft_points(site, item["id"])
    assert left[0] == 0 and left[1] == pytest.approx(100, abs=0.5)
    assert corner == [WIDTH, 0]

    click_image(page, 200, 300)
    click_image(page, 0, 100)  # the first vertex closes (with the active label, no picker)
    settled(page)
    [[first, second, third]] = shape_points(site, item["id"])
    assert (first, second) == (left, corner)
    assert third == pytest.approx([200, 300], abs=1)


def test_a_vertex_dragged_just_outside_lands_on_the_border_and_a_moved_shape_stops_at_it(
    open_page, site, new_job
):
    page, job, item = square_selected_in_edit_tool(open_page, site, new_job, 100, 100, 40)

    # The top-left vertex, dragged just past the left edge: it lands on the edge, at the height dragged to.
    page.mouse.move(*client_point(page, 100, 100))
    page.mouse.down()
    page.mouse.move(*beside(page, 0, 60, -JUST_OUTSIDE_PX, 0), steps=6)
    page.mouse.up()
    settled(page)
    [points] = shape_points(site, item["id"])
    assert points[0] == pytest.approx([0, 60], abs=1)
    assert points[0][0] == 0

    # Dragged far outside: refused in the page, nothing sent, the vertex snaps back.
    page.mouse.move(*client_point(page, *points[0]))
    page.mouse.down()
    page.mouse.move(*beside(page, 0, 60, -FAR_OUTSIDE_PX, 0), steps=6)
    page.mouse.up()
    expect(page.locator(".refusal[data-code=outside_image]")).to_be_visible()
    settled(page)
    assert shape_points(site, item["id"]) == [points]

    # The whole shape dragged past the bottom right corner (by 10 image pixels more than it has room for)
    # stops where its rightmost and lowest vertices meet the border.
    drag(page, (120, 120), (120 + WIDTH - 140 + 10, 120 + HEIGHT - 140 + 10))
    settled(page)
    [moved] = shape_points(site, item["id"])
    assert max(x for x, _ in moved) == pytest.approx(WIDTH, abs=0.02)
    assert max(y for _, y in moved) == pytest.approx(HEIGHT, abs=0.02)
    assert all(0 <= x <= WIDTH and 0 <= y <= HEIGHT for x, y in moved)

    # For the screenshot: the shape selected, one of its vertices selected (drawn distinctly).
    corner = max(moved, key=lambda p: p[0] - p[1])  # top right: clear of the hint along the bottom
    drag(page, tuple(corner), tuple(corner))
    expect(page.locator("#canvas .shape.selected .vertex.active")).to_have_count(1)


def test_space_drag_and_middle_drag_pan_and_add_no_vertex(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    shape_id = api_square(site, item["id"], label_id(job, "cat"), 400, 300, 60)
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.keyboard.press("d")
    click_image(page, 100, 100)  # an open draft: a pan must not add to it
    settled(page)

    def pan_with(press, release):
        before = client_point(page, 0, 0)
        start = client_point(page, 200, 200)
        page.mouse.move(*start)
        press()
        page.mouse.move(start[0] + 80, start[1] + 50, steps=5)
        release()
        after = client_point(page, 0, 0)
        assert after == pytest.approx((before[0] + 80, before[1] + 50), abs=1)

    page.keyboard.down(" ")
    pan_with(page.mouse.down, page.mouse.up)
    page.keyboard.up(" ")
    pan_with(lambda: page.mouse.down(button="middle"), lambda: page.mouse.up(button="middle"))
    settled(page)
    expect(page.locator("#canvas .draft.mine .vertex")).to_have_count(1)
    [[only]] = draft_points(site, item["id"])
    # A click lands on a whole screen pixel (the event's coordinates are whole, the stage's offset need not
    # be): within one of them, in image pixels at this zoom.
    a_pixel = 1 / page.evaluate("window.polylogLabel.renderer.scale")
    assert only == pytest.approx([100, 100], abs=a_pixel)

    # In the edit tool, Space+drag on a shape pans too: the shape does not move.
    page.keyboard.press("e")
    page.keyboard.down(" ")
    page.mouse.move(*client_point(page, 430, 330))
    page.mouse.down()
    page.mouse.move(*client_point(page, 480, 380), steps=5)
    page.mouse.up()
    page.keyboard.up(" ")
    settled(page)
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert [s["points"] for s in state["shapes"] if s["id"] == shape_id] == [
        [[400, 300], [460, 300], [460, 360], [400, 360]]
    ]
    [[only]] = draft_points(site, item["id"])
    # A click lands on a whole screen pixel (the event's coordinates are whole, the stage's offset need not
    # be): within one of them, in image pixels at this zoom.
    a_pixel = 1 / page.evaluate("window.polylogLabel.renderer.scale")
    assert only == pytest.approx([100, 100], abs=a_pixel)


def test_clicking_the_body_after_dragging_a_vertex_makes_delete_remove_the_shape(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "dog"), 100, 100, 100)
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.keyboard.press("e")
    click_image(page, 150, 150)
    drag(page, (100, 100), (90, 90))  # the dragged vertex is the selected one
    settled(page)
    expect(page.locator("#canvas .shape.selected .vertex.active")).to_have_count(1)

    click_image(page, 150, 150)  # the body: the shape alone is selected
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)
    expect(page.locator("#canvas .vertex.active")).to_have_count(0)
    page.keyboard.press("Delete")
    settled(page)
    expect(page.locator("#canvas .shape")).to_have_count(0)
    assert shape_points(site, item["id"]) == []


def test_delete_and_backspace_remove_the_selected_vertex_else_the_shape_in_every_tool(
    open_page, site, new_job
):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "dog"), 100, 100, 100)
    api_square(site, item["id"], label_id(job, "cat"), 300, 100, 100)
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.keyboard.press("e")

    # Edit tool, Backspace: the selected vertex, then (none selected any more) the shape.
    click_image(page, 150, 150)
    drag(page, (200, 200), (200, 200))  # a press without a move selects the vertex
    expect(page.locator("#canvas .shape.selected .vertex.active")).to_have_count(1)
    page.keyboard.press("Backspace")
    settled(page)
    assert shape_points(site, item["id"])[0] == [[100, 100], [200, 100], [100, 200]]
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)
    expect(page.locator("#canvas .vertex.active")).to_have_count(0)
    page.keyboard.press("Backspace")
    settled(page)
    assert len(shape_points(site, item["id"])) == 1

    # Polygon tool: Delete follows the same rule (a vertex selected with the edit tool goes first) ...
    click_image(page, 350, 150)
    drag(page, (400, 200), (400, 200))
    expect(page.locator("#canvas .shape.selected .vertex.active")).to_have_count(1)
    page.keyboard.press("d")
    expect(page.locator("#canvas .shape.selected .vertex.active")).to_have_count(1)  # still visible
    page.keyboard.press("Delete")
    settled(page)
    assert shape_points(site, item["id"]) == [[[300, 100], [400, 100], [300, 200]]]

    # ... while Backspace there is the draft's: its last vertex, and without a draft nothing.
    click_image(page, 500, 300)
    click_image(page, 550, 300)
    settled(page)
    page.keyboard.press("Backspace")
    settled(page)
    [[only]] = draft_points(site, item["id"])
    assert only == pytest.approx([500, 300], abs=1)
    page.keyboard.press("Backspace")
    settled(page)
    page.keyboard.press("Backspace")  # no draft: the selected shape stays
    settled(page)
    assert draft_points(site, item["id"]) == []
    assert len(shape_points(site, item["id"])) == 1
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)

    page.keyboard.press("Delete")  # no vertex selected: the shape
    settled(page)
    assert shape_points(site, item["id"]) == []
