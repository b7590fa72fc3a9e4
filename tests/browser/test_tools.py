"""The labeling page's tools (issue 19), as a person uses them: label first (the label bar, 1-9, a closed
polygon takes the active label, a number key relabels the selected shape), the rectangle tool (a drag is
one add_polygon, one undo action) and arrow-key nudges (one command per key-hold, one undo action). Each
checks the server's state after."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import (
    api_square,
    client_point,
    draw_polygon,
    expect,
    label_id,
    open_item,
    settled,
    shape_rows,
    square_selected_in_edit_tool,
)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
VIEWPORT = (1440, 900)


def state_of(site, item_id):
    return site.api().get(f"/api/items/{item_id}/state/")


def test_label_first_the_bar_and_number_keys_choose_and_relabel(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    cat, dog, bird = (label_id(job, name) for name in ("cat", "dog", "bird"))
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    bar = page.get_by_role("toolbar", name="Active label")
    expect(bar.locator("button")).to_have_text(["cat1", "dog2", "bird3"])
    expect(bar.locator("button.active")).to_contain_text("cat")  # always one active label

    page.keyboard.press("3")
    expect(bar.locator("button.active")).to_contain_text("bird")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tools-label-bar.png"))

    draw_polygon(page, [(100, 100), (300, 120), (180, 300)])  # closes with no picker
    expect(page.get_by_role("dialog", name="Choose a label")).to_have_count(0)
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert shape["label_class_id"] == bird

    page.keyboard.press("2")
    draw_polygon(page, [(400, 100), (550, 100), (480, 250)])
    settled(page)
    assert [s["label_class_id"] for s in state_of(site, item["id"])["shapes"]] == [bird, dog]

    # A shape selected: a number key relabels it (one relabel_shape, undone whole).
    page.keyboard.press("e")
    shape_rows(page).first.click()
    page.keyboard.press("1")
    settled(page)
    assert [s["label_class_id"] for s in state_of(site, item["id"])["shapes"]] == [cat, dog]
    expect(shape_rows(page).first.locator("select.relabel")).to_have_value(str(cat))
    page.keyboard.press("Control+z")
    settled(page)
    assert [s["label_class_id"] for s in state_of(site, item["id"])["shapes"]] == [bird, dog]

    # The active label stays with the job for the next image.
    open_item(page, site, job["items"][1]["id"])
    expect(page.get_by_role("toolbar", name="Active label").locator("button.active")).to_contain_text("cat")


def test_the_rectangle_tool_draws_a_box_as_one_polygon_and_one_undo(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    page.keyboard.press("b")
    expect(page.locator("#stage")).to_have_class("stage mode-draw_rectangle")
    expect(page.get_by_role("button", name="Rectangle tool")).to_have_class("active")
    page.keyboard.press("2")  # dog

    page.mouse.move(*client_point(page, 320, 220))
    page.mouse.down()
    page.mouse.move(*client_point(page, 200, 150), steps=4)
    page.mouse.move(*client_point(page, 120, 80), steps=4)  # dragged up and to the left
    expect(page.locator("#canvas .preview")).not_to_have_attribute("points", "")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tools-rectangle-dragging.png"))
    page.mouse.up()
    settled(page)

    state = state_of(site, item["id"])
    [shape] = state["shapes"]
    assert shape["label_class_id"] == label_id(job, "dog")
    assert len(shape["points"]) == 4
    xs = sorted({round(x) for x, _ in shape["points"]})
    ys = sorted({round(y) for _, y in shape["points"]})
    assert xs == [120, 320] and ys == [80, 220]
    events = site.api().get(f"/api/items/{item['id']}/events/?after=0&limit=50")["results"]
    assert [e["type"] for e in events] == ["polygon_added"]  # one command, no draft steps
    page.screenshot(path=str(ARTIFACTS / "tools-rectangle-drawn.png"))

    # A click without a drag draws nothing.
    page.mouse.click(*client_point(page, 500, 400))
    settled(page)
    assert len(state_of(site, item["id"])["shapes"]) == 1

    page.keyboard.press("Control+z")  # the whole rectangle goes in one undo
    settled(page)
    assert state_of(site, item["id"])["shapes"] == []
    expect(shape_rows(page)).to_have_count(0)


def test_a_corner_dragged_past_the_border_stops_on_it(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    width, height = item["image"]["width"], item["image"]["height"]
    page.keyboard.press("b")
    page.mouse.move(*client_point(page, width - 100, height - 80))
    page.mouse.down()
    page.mouse.move(*client_point(page, width + 60, height + 60), steps=6)  # far past the corner
    page.mouse.up()
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert max(x for x, _ in shape["points"]) == width
    assert max(y for _, y in shape["points"]) == height


def test_arrow_keys_nudge_the_shape_and_a_key_hold_is_one_undo(open_page, site, new_job):
    page, job, item = square_selected_in_edit_tool(open_page, site, new_job, 200, 150, 100)

    for _ in range(3):
        page.keyboard.down("ArrowRight")  # held: the key repeats
    page.keyboard.up("ArrowRight")
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert shape["points"][0] == [203, 150]
    page.keyboard.down("Shift")
    page.keyboard.press("ArrowUp")  # Shift: ten pixels
    page.keyboard.up("Shift")
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert shape["points"][0] == [203, 140]
    events = site.api().get(f"/api/items/{item['id']}/events/?after=0&limit=50")["results"]
    assert [e["type"] for e in events] == ["polygon_added", "shape_moved", "shape_moved"]

    page.keyboard.press("Control+z")  # the Shift+Up
    settled(page)
    page.keyboard.press("Control+z")  # the whole three-step hold at once
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert shape["points"][0] == [200, 150]


def test_arrow_keys_nudge_the_selected_vertex(open_page, site, new_job):
    page, job, item = square_selected_in_edit_tool(open_page, site, new_job, 200, 150, 100)
    page.mouse.click(*client_point(page, 300, 250))  # the bottom right vertex
    expect(page.locator("#canvas .vertex.active")).to_have_count(1)
    page.keyboard.down("ArrowDown")
    page.keyboard.down("ArrowLeft")  # two arrows held together: still one command
    page.keyboard.up("ArrowDown")
    page.keyboard.up("ArrowLeft")
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert shape["points"] == [[200, 150], [300, 150], [299, 251], [200, 250]]
    events = site.api().get(f"/api/items/{item['id']}/events/?after=0&limit=50")["results"]
    assert [e["type"] for e in events] == ["polygon_added", "vertex_moved"]
    page.keyboard.press("Control+z")
    settled(page)
    assert state_of(site, item["id"])["shapes"][0]["points"][2] == [300, 250]


def test_an_auditor_has_no_rectangle_tool(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "cat"), 100, 100, 80)
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "bob", "role": "auditor"})
    page = open_page("bob")
    open_item(page, site, item["id"])
    expect(page.get_by_role("button", name="Rectangle tool")).to_be_disabled()
    page.keyboard.press("b")
    expect(page.locator("#stage")).to_have_class("stage mode-edit")


def test_question_mark_shows_every_shortcut_from_the_table_docs_ui_md_shows(open_page, site, new_job):
    job = new_job()
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, job["items"][0]["id"])
    table = page.evaluate("import('/static/polylog/label/shortcuts.js').then((m) => m.markdownTable())")
    docs = (Path(__file__).resolve().parents[2] / "docs" / "ui.md").read_text()
    section = docs.split("<!-- shortcuts:", 1)[1].split("-->", 1)[1].split("<!-- /shortcuts -->", 1)[0]
    assert section.strip() == table  # docs/ui.md shows the table the handlers use

    page.keyboard.press("?")
    overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(overlay).to_be_visible()
    rows = [
        f"| {keys} | {what} | {where} |"
        for keys, what, where in overlay.locator("tbody tr").evaluate_all(
            "rows => rows.map((r) => [...r.cells].map((c) => c.innerText))"
        )
    ]
    assert rows == table.splitlines()[2:]  # every row of the table, nothing else
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tools-shortcuts-overlay.png"))
    page.keyboard.press("b")  # keys do nothing while it is open
    page.keyboard.press("?")
    expect(overlay).to_have_count(0)
    expect(page.locator("#stage")).to_have_class("stage mode-draw_polygon")
    page.keyboard.press("b")  # and work again once it is closed
    expect(page.locator("#stage")).to_have_class("stage mode-draw_rectangle")

    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(overlay).to_be_visible()
    page.keyboard.press("Escape")
    expect(overlay).to_have_count(0)


def test_with_ask_after_closing_a_rectangle_opens_the_picker_and_takes_its_answer(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.get_by_label("Ask after closing").check()
    page.keyboard.press("b")
    drag_box = [client_point(page, 100, 100), client_point(page, 250, 200)]
    page.mouse.move(*drag_box[0])
    page.mouse.down()
    page.mouse.move(*drag_box[1], steps=5)
    page.mouse.up()
    picker = page.get_by_role("dialog", name="Choose a label")
    expect(picker).to_be_visible()
    assert state_of(site, item["id"])["shapes"] == []  # nothing sent before the answer
    picker.get_by_role("button", name="bird").click()
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert shape["label_class_id"] == label_id(job, "bird")
    expect(page.get_by_role("toolbar", name="Active label").locator("button.active")).to_contain_text("bird")


def test_a_nudged_shape_stops_at_the_border_and_nothing_selected_sends_nothing(open_page, site, new_job):
    page, job, item = square_selected_in_edit_tool(open_page, site, new_job, 5, 150, 100)
    page.keyboard.down("Shift")
    page.keyboard.press("ArrowLeft")  # ten pixels asked, five to the border
    page.keyboard.up("Shift")
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert min(x for x, _ in shape["points"]) == pytest.approx(0, abs=0.01)
    assert min(x for x, _ in shape["points"]) >= 0

    page.keyboard.press("Escape")  # nothing selected now
    expect(page.locator("#canvas .shape.selected")).to_have_count(0)
    page.keyboard.press("ArrowRight")
    settled(page)
    assert state_of(site, item["id"])["shapes"][0]["points"] == shape["points"]
