"""Merge, subtract and split on the labeling page (issue 19 point 7), as a person uses them: Shift+click
picks, M merges into the selected shape (the last picked), the Subtract button cuts the other picked
shape out of the selected one, and the split tool (K) cuts the selected shape along a line drawn across
it (a drag, or two clicks). Each is checked on the server and undone in one step. And two people on one
image: what one pastes and then merges shows live on the other's screen."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from .helpers import (
    FOLDED_STATE,
    LIVE_MS,
    click_image,
    client_point,
    expect,
    label_id,
    open_item,
    settled,
    shape_rows,
    square,
)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def add(site: Any, item_id: int, label: int, points: list[list[float]]) -> str:
    """A shape put there by ann, so demo's page has nothing of its own to save or undo."""
    shape_id = str(uuid.uuid4())
    site.api("ann").command(
        item_id, {"type": "add_polygon", "shape_id": shape_id, "label_class_id": label, "points": points}
    )
    return shape_id


def state_of(site: Any, item_id: int) -> dict[str, Any]:
    """The server's state, shapes in number order (undo may put a shape back in another position)."""
    state = site.api().get(f"/api/items/{item_id}/state/")
    state["shapes"].sort(key=lambda s: s["number"])
    return state


def last_event(site: Any, item_id: int) -> dict[str, Any]:
    return site.api().get(f"/api/items/{item_id}/events/?after=0&limit=100")["results"][-1]


def pick(page: Any, *centres: tuple[float, float]) -> None:
    """In the edit tool: click the first shape, Shift+click the others (the last is the selected one)."""
    page.keyboard.press("e")
    click_image(page, *centres[0])
    page.keyboard.down("Shift")
    for centre in centres[1:]:
        click_image(page, *centre)
    page.keyboard.up("Shift")


def opened(open_page: Any, site: Any, new_job: Any, shapes: list[tuple[str, list[list[float]]]]):
    job = new_job()
    item_id = job["items"][0]["id"]
    ids = [add(site, item_id, label_id(job, label), points) for label, points in shapes]
    page = open_page("demo")
    open_item(page, site, item_id)
    return page, job, item_id, ids


def test_m_merges_the_picked_shapes_into_the_selected_one_and_one_undo_parts_them(open_page, site, new_job):
    page, job, item_id, (a, b) = opened(
        open_page, site, new_job, [("cat", square(100, 100, 100)), ("cat", square(150, 150, 100))]
    )
    before = state_of(site, item_id)["shapes"]
    pick(page, (120, 120), (230, 230))  # b picked last: the selected one
    expect(page.locator("#hint")).to_contain_text("M merges cat #1 into cat #2 (the selected one)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pieces-two-picked.png"))

    page.keyboard.press("m")
    settled(page)

    [merged] = state_of(site, item_id)["shapes"]
    assert (merged["id"], merged["number"]) == (b, 2)  # the selected one keeps its id and number
    xs, ys = {x for x, _ in merged["points"]}, {y for _, y in merged["points"]}
    assert (min(xs), max(xs), min(ys), max(ys)) == (100, 250, 100, 250)
    assert len(merged["points"]) == 8  # the union's outline
    assert last_event(site, item_id)["type"] == "shapes_merged"
    expect(shape_rows(page)).to_have_count(1)

    page.keyboard.press("Control+z")
    settled(page)
    assert state_of(site, item_id)["shapes"] == before


def test_a_merge_of_shapes_apart_is_refused_with_a_message(open_page, site, new_job):
    page, job, item_id, _ = opened(
        open_page, site, new_job, [("cat", square(100, 100, 50)), ("cat", square(300, 300, 50))]
    )
    pick(page, (120, 120), (320, 320))

    page.get_by_role("button", name="Merge").click()

    expect(page.locator("#notices")).to_contain_text("neither overlaps nor shares a border")
    settled(page)
    assert len(state_of(site, item_id)["shapes"]) == 2


def test_subtract_cuts_the_other_picked_shape_out_of_the_selected_one(open_page, site, new_job):
    # A cat square and a dog bar across it: picking the bar, then the square, cuts the bar out of the square.
    page, job, item_id, (cat_square, bar) = opened(
        open_page,
        site,
        new_job,
        [("cat", square(100, 100, 100)), ("dog", [[50, 140], [300, 140], [300, 160], [50, 160]])],
    )
    before = state_of(site, item_id)["shapes"]
    pick(page, (250, 150), (150, 120))
    expect(page.locator("#hint")).to_contain_text("Shift+M cuts dog #2 out of cat #1")

    page.get_by_role("button", name="Subtract").click()
    settled(page)

    event = last_event(site, item_id)
    assert event["type"] == "shape_subtracted"
    assert (event["payload"]["shape_id"], event["payload"]["by"]) == (cat_square, bar)
    shapes = {s["id"]: s for s in state_of(site, item_id)["shapes"]}
    assert len(shapes) == 3  # the square in two parts, the bar as it was
    assert shapes[bar]["points"] == before[1]["points"]
    assert max(y for _, y in shapes[cat_square]["points"]) in (140, 200)
    expect(shape_rows(page)).to_have_count(3)

    page.keyboard.press("Control+z")
    settled(page)
    assert state_of(site, item_id)["shapes"] == before

    # Shift+M does the same from the keyboard.
    pick(page, (250, 150), (150, 120))
    page.keyboard.press("Shift+M")
    settled(page)
    assert last_event(site, item_id)["type"] == "shape_subtracted"


def test_the_split_tool_cuts_the_selected_shape_along_a_drawn_line(open_page, site, new_job):
    page, job, item_id, (shape_id,) = opened(open_page, site, new_job, [("bird", square(100, 100, 200))])
    before = state_of(site, item_id)["shapes"]
    pick(page, (200, 200))

    page.keyboard.press("k")
    expect(page.locator("#stage")).to_have_class("stage mode-split")
    page.mouse.move(*client_point(page, 200, 60))  # from above the shape ...
    page.mouse.down()
    page.mouse.move(*client_point(page, 200, 200), steps=4)
    page.mouse.move(*client_point(page, 200, 340), steps=4)  # ... to below it
    expect(page.locator("#canvas .preview")).not_to_have_attribute("points", "")
    page.screenshot(path=str(ARTIFACTS / "pieces-split-line.png"))
    page.mouse.up()
    settled(page)

    event = last_event(site, item_id)
    assert event["type"] == "shape_split"
    assert event["payload"]["shape_id"] == shape_id
    shapes = state_of(site, item_id)["shapes"]
    assert sorted(sorted({x for x, _ in s["points"]}) for s in shapes) == [[100, 200], [200, 300]]
    expect(page.locator("#stage")).to_have_class("stage mode-edit")  # back to the edit tool

    page.keyboard.press("Control+z")
    settled(page)
    assert state_of(site, item_id)["shapes"] == before

    # Two clicks draw the line too (the line follows the pointer between them); across, left to right.
    pick(page, (200, 200))
    page.get_by_role("button", name="Split tool").click()
    click_image(page, 60, 150)
    page.mouse.move(*client_point(page, 200, 150), steps=3)
    click_image(page, 340, 150)
    settled(page)
    shapes = state_of(site, item_id)["shapes"]
    assert sorted(sorted({y for _, y in s["points"]}) for s in shapes) == [[100, 150], [150, 300]]


def test_k_without_a_selected_shape_says_what_to_do(open_page, site, new_job):
    page, job, item_id, _ = opened(open_page, site, new_job, [("cat", square(100, 100, 50))])
    page.keyboard.press("e")
    page.keyboard.press("k")
    expect(page.locator("#notices")).to_contain_text("Select a shape first")
    expect(page.locator("#stage")).to_have_class("stage mode-edit")


# Two people on one image ----------------------------------------------------------------------------


def folded(page: Any, seq: int) -> dict[str, Any]:
    page.wait_for_function("seq => window.polylogLabel.store.state.seq === seq", arg=seq, timeout=LIVE_MS)
    state = page.evaluate(FOLDED_STATE)
    state["shapes"].sort(key=lambda s: s["number"])
    return state


def as_folded(server: dict[str, Any]) -> dict[str, Any]:
    shapes = sorted(
        ({**s, "group_id": s.get("group_id")} for s in server["shapes"]), key=lambda s: s["number"]
    )
    return {"seq": server["seq"], "next_number": server["next_number"], "shapes": shapes}


def test_a_paste_then_a_merge_by_one_person_show_live_on_the_others_screen(open_page, site, new_job):
    job = new_job()
    item_id = job["items"][0]["id"]
    original = add(site, item_id, label_id(job, "cat"), square(200, 150, 100))
    watcher = open_page("bob")
    open_item(watcher, site, item_id)
    worker = open_page("ann")
    open_item(worker, site, item_id)
    expect(shape_rows(watcher)).to_have_count(1)

    pick(worker, (250, 200))
    worker.keyboard.press("Control+c")
    worker.keyboard.press("Control+v")  # the copy, 10 px aside, is the selection now
    settled(worker)
    expect(shape_rows(watcher)).to_have_count(2, timeout=LIVE_MS)
    server = state_of(site, item_id)
    assert folded(watcher, server["seq"]) == as_folded(server)
    copy = server["shapes"][1]["id"]
    assert server["shapes"][1]["points"] == square(210, 160, 100)

    worker.keyboard.down("Shift")
    click_image(worker, 205, 155)  # the original, where the copy does not cover it: picked last
    worker.keyboard.up("Shift")
    worker.keyboard.press("m")
    settled(worker)

    expect(shape_rows(watcher)).to_have_count(1, timeout=LIVE_MS)
    server = state_of(site, item_id)
    [merged] = server["shapes"]
    assert merged["id"] == original and copy not in {s["id"] for s in server["shapes"]}
    assert {x for x, _ in merged["points"]} == {200, 210, 300, 310} and len(merged["points"]) == 8
    assert folded(watcher, server["seq"]) == as_folded(server)
    expect(watcher.locator(f'#canvas [data-shape-id="{original}"] polygon')).to_have_count(1)
    expect(watcher.locator(f'#canvas [data-shape-id="{copy}"]')).to_have_count(0)


def test_a_refused_paste_merge_cut_or_split_is_told_in_the_servers_words_which_name_the_shapes(
    open_page, site, new_job
):
    job = new_job()
    page = open_page("demo")
    open_item(page, site, job["items"][0]["id"])
    told = page.evaluate(
        """() => import('/static/polylog/label/messages.js').then(({ refusalText }) => [
          ['paste_shapes', 'self_intersecting', 'Pasted shape 2 of 3: The polygon crosses itself at (4, 4).'],
          ['merge_shapes', 'result_not_simple', 'The merge of shapes #1 and #2 would not be a simple polygon: ...'],
          ['subtract_shape', 'self_intersecting', 'Shape #3 crosses itself (it was imported so); fix its outline first.'],
          ['split_shape', 'too_many_vertices', 'Part 2 of shape #1 would have 1200 vertices; a polygon has at most 1000.'],
          ['add_polygon', 'self_intersecting', 'The polygon crosses itself at (4, 4).'],
        ].map(([type, code, message]) =>
          refusalText({ code, message, command: { type }, shape: null, labels: new Map(), name: (id) => id })))"""
    )
    assert told[:4] == [
        "Pasted shape 2 of 3: The polygon crosses itself at (4, 4).",
        "The merge of shapes #1 and #2 would not be a simple polygon: ...",
        "Shape #3 crosses itself (it was imported so); fix its outline first.",
        "Part 2 of shape #1 would have 1200 vertices; a polygon has at most 1000.",
    ]
    assert told[4] != "The polygon crosses itself at (4, 4)."  # one shape of one's own: the page's sentence
