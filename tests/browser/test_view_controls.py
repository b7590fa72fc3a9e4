"""What a person sees on the labeling page (issue 20 points 3 and 4), as a person uses it: finding a shape
(File Labels, its search, ] and [) brings it into view; labels on the image; hiding by label, all, or all
but the selected; locks against one's own edits; brightness, contrast and gamma; the label picker beside
the closing point; fullscreen refits; the minimap. Each view setting is checked to send nothing (the
server's seq is unchanged)."""

from __future__ import annotations

import io
from pathlib import Path

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
    shape_rows,
    square_selected_in_edit_tool,
)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
VIEWPORT = (1440, 900)


def seq_of(site, item_id):
    return site.api().get(f"/api/items/{item_id}/state/")["seq"]


def inside(box, outer):
    return (
        box["x"] >= outer["x"]
        and box["y"] >= outer["y"]
        and box["x"] + box["width"] <= outer["x"] + outer["width"]
        and box["y"] + box["height"] <= outer["y"] + outer["height"]
    )


def shape_box(page, shape_id):
    return page.locator(f'#canvas .shape[data-shape-id="{shape_id}"] polygon').bounding_box()


def zoom_into_top_left(page, factor=6):
    page.evaluate(
        """(factor) => {
          const r = window.polylogLabel.renderer;
          const [x, y] = r.toClient([0, 0]);
          r.zoomAt(factor, x, y);
        }""",
        factor,
    )


def three_squares(site, new_job, labels=("cat", "dog", "cat")):
    """A new job's first image with three squares (#1 top left, #2 middle, #3 bottom right)."""
    job = new_job()
    item = job["items"][0]
    width, height = item["image"]["width"], item["image"]["height"]
    size = min(width, height) / 10
    spots = [(10, 10), (width / 2 - size / 2, height / 2 - size / 2), (width - size - 10, height - size - 10)]
    ids = [
        api_square(site, item["id"], label_id(job, name), x, y, size)
        for name, (x, y) in zip(labels, spots, strict=True)
    ]
    return job, item, ids


def test_selecting_a_shape_in_file_labels_brings_it_into_view(open_page, site, new_job):
    job, item, ids = three_squares(site, new_job)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    zoom_into_top_left(page)
    stage = page.locator("#stage").bounding_box()
    assert not inside(shape_box(page, ids[2]), stage)  # #3 is off the stage after zooming in elsewhere

    shape_rows(page).nth(2).click()
    expect(page.locator(f'#canvas .shape.selected[data-shape-id="{ids[2]}"]')).to_have_count(1)
    assert inside(shape_box(page, ids[2]), stage)

    # The search filters the rows by number or label name; Enter selects the first match and shows it.
    zoom_into_top_left(page)
    page.get_by_label("Find a shape by number or label").fill("dog")
    expect(shape_rows(page)).to_have_count(1)
    page.get_by_label("Find a shape by number or label").press("Enter")
    expect(page.locator(f'#canvas .shape.selected[data-shape-id="{ids[1]}"]')).to_have_count(1)
    assert inside(shape_box(page, ids[1]), stage)


def test_the_bracket_keys_select_the_next_and_previous_shape_and_show_it(open_page, site, new_job):
    job, item, ids = three_squares(site, new_job)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    zoom_into_top_left(page)
    selected = page.locator("#canvas .shape.selected")
    stage = page.locator("#stage").bounding_box()

    page.keyboard.press("]")
    expect(selected).to_have_attribute("data-shape-id", ids[0])
    page.keyboard.press("]")
    page.keyboard.press("]")
    expect(selected).to_have_attribute("data-shape-id", ids[2])
    assert inside(shape_box(page, ids[2]), stage)
    page.keyboard.press("]")  # round to the first
    expect(selected).to_have_attribute("data-shape-id", ids[0])
    page.keyboard.press("[")
    expect(selected).to_have_attribute("data-shape-id", ids[2])


def test_l_shows_number_and_label_name_on_the_image(open_page, site, new_job):
    job, item, ids = three_squares(site, new_job)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    tag = page.locator(f'#canvas .shape[data-shape-id="{ids[0]}"] .number-tag')
    expect(tag).to_have_text("#1")
    page.keyboard.press("l")
    expect(tag).to_have_text("#1 cat")
    expect(page.locator(f'#canvas .shape[data-shape-id="{ids[1]}"] .number-tag')).to_have_text("#2 dog")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "view-labels-on-canvas.png"))
    page.keyboard.press("l")
    expect(tag).to_have_text("#1")


def test_hiding_a_label_hides_exactly_its_shapes_and_sends_nothing(open_page, site, new_job):
    job, item, ids = three_squares(site, new_job)
    before = seq_of(site, item["id"])
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    page.locator("#class-list").get_by_role("button", name="Hide cat").click()
    expect(page.locator(f'#canvas .shape[data-shape-id="{ids[0]}"]')).to_be_hidden()
    expect(page.locator(f'#canvas .shape[data-shape-id="{ids[2]}"]')).to_be_hidden()
    expect(page.locator(f'#canvas .shape[data-shape-id="{ids[1]}"]')).to_be_visible()
    expect(page.locator("#canvas .shape.hidden")).to_have_count(2)
    # Their File Labels rows are greyed as hidden too; the dog's is not.
    expect(page.locator(".shape-row.hidden-shape")).to_have_count(2)
    expect(page.locator(f'.shape-row[data-shape-id="{ids[1]}"]')).not_to_have_class("hidden-shape")
    page.locator(f'.shape-row[data-shape-id="{ids[0]}"]').get_by_role("button", name="Lock shape").click()
    page.screenshot(path=str(ARTIFACTS / "view-panel-search-eyes-locks.png"))

    # Hide all (Shift+H) and back; the label stays hidden (a per-person setting, kept for the job).
    page.keyboard.press("Shift+H")
    expect(page.locator("#canvas .shape.hidden")).to_have_count(3)
    page.keyboard.press("Shift+H")
    expect(page.locator("#canvas .shape.hidden")).to_have_count(2)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "true")
    expect(page.locator("#canvas .shape.hidden")).to_have_count(2)
    page.locator("#class-list").get_by_role("button", name="Show cat").click()
    expect(page.locator("#canvas .shape.hidden")).to_have_count(0)
    expect(page.locator(".shape-row.hidden-shape")).to_have_count(0)
    assert seq_of(site, item["id"]) == before


def test_o_shows_only_the_selected_shape(open_page, site, new_job):
    job, item, ids = three_squares(site, new_job)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    shape_rows(page).nth(1).click()
    page.keyboard.press("o")
    expect(page.locator("#canvas .shape.hidden")).to_have_count(2)
    expect(page.locator(f'#canvas .shape[data-shape-id="{ids[1]}"]')).to_be_visible()
    page.keyboard.press("o")
    expect(page.locator("#canvas .shape.hidden")).to_have_count(0)


def test_a_locked_shape_is_not_moved_by_a_drag(open_page, site, new_job):
    page, job, item = square_selected_in_edit_tool(open_page, site, new_job, 100, 100, 80)
    before = shape_points(site, item["id"])
    page.keyboard.press("Shift+L")
    expect(shape_rows(page).first.get_by_role("button", name="Unlock shape")).to_have_count(1)
    drag(page, (140, 140), (240, 200))
    expect(page.locator("#notices")).to_contain_text("is locked")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Delete")
    settled(page)
    assert shape_points(site, item["id"]) == before
    assert len(site.api().get(f"/api/items/{item['id']}/state/")["shapes"]) == 1

    # Unlocked, the same drag moves it (the lock was what stopped it).
    page.keyboard.press("Shift+L")
    drag(page, (140, 140), (240, 200))
    settled(page)
    assert shape_points(site, item["id"]) != before


def test_brightness_changes_only_the_view(open_page, site, new_job):
    from PIL import Image

    job, item, ids = three_squares(site, new_job)
    before = seq_of(site, item["id"])
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    image = page.locator("#canvas image").first
    assert image.evaluate("(el) => el.style.filter") == ""
    x, y = client_point(page, item["image"]["width"] * 0.3, item["image"]["height"] * 0.7)
    clip = {"x": x, "y": y, "width": 1, "height": 1}
    pixel = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB").getpixel((0, 0))

    page.locator("input[data-adjust=brightness]").fill("200")
    expect(image).to_have_css("filter", "brightness(2)")
    page.locator("input[data-adjust=gamma]").fill("1.5")
    assert "url(" in image.evaluate("(el) => el.style.filter")
    brighter = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB").getpixel((0, 0))
    assert brighter != pixel
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "view-sliders.png"))
    assert seq_of(site, item["id"]) == before  # nothing sent

    page.get_by_role("button", name="Reset brightness, contrast and gamma").click()
    assert image.evaluate("(el) => el.style.filter") == ""


def test_the_label_picker_opens_beside_the_closing_point(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    page.get_by_label("Ask after closing").check()
    points = [(100, 100), (260, 110), (250, 240), (110, 230)]
    for x, y in points:
        click_image(page, x, y)
    corners = [client_point(page, x, y) for x, y in points]
    closing = corners[0]
    click_image(page, *points[0])
    picker = page.get_by_role("dialog", name="Choose a label")
    expect(picker).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "view-picker-beside.png"))
    box = picker.bounding_box()
    stage = page.locator("#stage").bounding_box()
    assert inside(box, stage)
    assert not (
        box["x"] <= closing[0] <= box["x"] + box["width"]
        and box["y"] <= closing[1] <= box["y"] + box["height"]
    )
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    assert (
        box["x"] >= max(xs)
        or box["x"] + box["width"] <= min(xs)
        or box["y"] >= max(ys)
        or box["y"] + box["height"] <= min(ys)
    )
    page.keyboard.press("Enter")
    settled(page)
    assert len(site.api().get(f"/api/items/{item['id']}/state/")["shapes"]) == 1


def test_fullscreen_refits_the_image(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    zoom_into_top_left(page)
    zoomed = page.evaluate("window.polylogLabel.renderer.scale")
    page.keyboard.press("f")  # a key press is the user gesture requestFullscreen wants
    if not page.evaluate("!!document.fullscreenElement"):  # here headless Chromium does enter it
        # Headless Chromium may refuse fullscreen: the handler's path is the event itself.
        page.evaluate("document.dispatchEvent(new Event('fullscreenchange'))")
    page.wait_for_function("(zoomed) => window.polylogLabel.renderer.scale !== zoomed", arg=zoomed)
    # The scale now is the fitted one for the stage as it is.
    assert page.evaluate(
        """() => {
          const r = window.polylogLabel.renderer;
          const [scale, tx, ty] = [r.scale, r.tx, r.ty];
          r.fit();
          return Math.abs(r.scale - scale) < 1e-9 && Math.abs(r.tx - tx) < 1e-6 && Math.abs(r.ty - ty) < 1e-6;
        }"""
    )


def test_the_minimap_shows_when_zoomed_in_and_a_click_pans(open_page, site, new_job):
    job, item, ids = three_squares(site, new_job)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    minimap = page.locator(".minimap")
    expect(minimap).to_be_hidden()  # the image fits
    zoom_into_top_left(page, 4)
    expect(minimap).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "view-minimap.png"))
    before = page.evaluate("[window.polylogLabel.renderer.tx, window.polylogLabel.renderer.ty]")
    box = minimap.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.8)
    after = page.evaluate("[window.polylogLabel.renderer.tx, window.polylogLabel.renderer.ty]")
    assert after[0] < before[0] and after[1] < before[1]  # panned towards the bottom right
    page.keyboard.press("0")
    expect(minimap).to_be_hidden()


def test_no_command_of_mine_changes_a_locked_shape_whatever_asks_for_it(open_page, site, new_job):
    page, job, item = square_selected_in_edit_tool(open_page, site, new_job, 100, 100, 80)
    other = api_square(site, item["id"], label_id(job, "dog"), 150, 150, 80)  # overlaps the locked one
    settled(page)
    before = seq_of(site, item["id"])
    page.keyboard.press("Shift+L")  # the selected (first) square is locked

    page.keyboard.press("1")  # relabel it to cat
    page.keyboard.press("r")  # reset it
    expect(page.locator("#notices")).to_contain_text("is locked")
    # The other square picked last: a merge into it would take the locked one in.
    page.keyboard.down("Shift")
    click_image(page, 220, 220)
    page.keyboard.up("Shift")
    expect(page.locator("#canvas .shape.group-picked")).to_have_count(1)
    page.keyboard.press("m")
    page.keyboard.press("Shift+M")
    settled(page)

    assert seq_of(site, item["id"]) == before  # nothing of it was sent
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert {s["label_class_id"] for s in state["shapes"]} == {label_id(job, "dog")}
    assert len(state["shapes"]) == 2 and other in {s["id"] for s in state["shapes"]}
