"""Dense images (issue 20, docs/ui.md "Dense images"): on a 6000x4000 photo with 200 shapes of 24 vertices,
handles are drawn for the selected shape and the one under the pointer only, and a press takes the nearest
vertex by geometry, not the handle drawn on top."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from .dense import dense_job, paste, rings
from .helpers import client_point, expect, open_item, settled

COUNT = 200
ZOOM = 0.17


@pytest.fixture(scope="module")
def dense(site: Any) -> dict[str, Any]:
    """One 6000x4000 image with 200 rings of 24 vertices, 20 image pixels apart (dense.rings)."""
    api = site.api()
    job = dense_job(api, ["dense"])
    item_id = job["items"][0]["id"]
    shapes = rings(COUNT)
    ids = paste(api, item_id, job["label_classes"][0]["id"], shapes)
    return {"item_id": item_id, "ids": ids, "shapes": shapes}


def opened_at_17_percent(open_page: Any, site: Any, dense: dict[str, Any]) -> Any:
    page = open_page("demo")
    open_item(page, site, dense["item_id"])
    expect(page.locator("#canvas .shape")).to_have_count(COUNT)
    page.keyboard.press("e")  # the edit tool
    page.evaluate(f"() => window.polylogLabel.renderer.zoomAt({ZOOM} / window.polylogLabel.renderer.scale)")
    expect(page.locator("#zoom-level")).to_have_text(f"{round(ZOOM * 100)}%")
    return page


def centre(points: list[list[float]]) -> tuple[float, float]:
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def test_it_draws_handles_only_for_the_selected_shape_and_the_one_under_the_pointer(open_page, site, dense):
    page = opened_at_17_percent(open_page, site, dense)
    page.mouse.move(2, 2)  # off the image: nothing under the pointer
    expect(page.locator("#canvas .vertex")).to_have_count(0)

    selected, other = 40, 43
    page.mouse.click(*client_point(page, *centre(dense["shapes"][selected])))
    expect(page.locator("#canvas .shape.selected")).to_have_attribute("data-shape-id", dense["ids"][selected])
    expect(page.locator("#canvas .vertex")).to_have_count(24)
    expect(page.locator("#canvas .shape.selected .vertex")).to_have_count(24)

    page.mouse.move(*client_point(page, *centre(dense["shapes"][other])))  # hovering another shape
    expect(page.locator(f'#canvas [data-shape-id="{dense["ids"][other]}"] .vertex')).to_have_count(24)
    expect(page.locator("#canvas .vertex")).to_have_count(48)

    page.mouse.move(2, 2)
    expect(page.locator("#canvas .vertex")).to_have_count(24)


def test_a_press_at_17_percent_takes_the_nearest_vertex_not_the_handle_on_top(open_page, site, dense):
    page = opened_at_17_percent(open_page, site, dense)
    n = 98  # inside the grid: neighbours' vertices 20 image pixels (3.4 screen pixels) away
    points = dense["shapes"][n]
    page.mouse.click(*client_point(page, *centre(points)))
    expect(page.locator("#canvas .shape.selected")).to_have_attribute("data-shape-id", dense["ids"][n])

    # 2.5 screen pixels from vertex 0 toward vertex 23 (7 screen pixels apart): inside both handles, and
    # vertex 23's is drawn on top of vertex 0's.
    v0, v23 = points[0], points[23]
    toward = 2.5 / (math.dist(v0, v23) * ZOOM)
    press = (v0[0] + (v23[0] - v0[0]) * toward, v0[1] + (v23[1] - v0[1]) * toward)
    start = client_point(page, *press)
    page.mouse.move(*start)
    page.mouse.down()
    expect(page.locator("#canvas .shape.selected .vertex.active")).to_have_attribute("data-index", "0")
    page.mouse.move(start[0] - 10, start[1], steps=3)
    page.mouse.move(start[0] - 17, start[1], steps=3)  # inward, 100 image pixels: far from every neighbour
    page.mouse.up()
    settled(page)

    [moved] = [
        s["points"]
        for s in site.api().get(f"/api/items/{dense['item_id']}/state/")["shapes"]
        if s["id"] == dense["ids"][n]
    ]
    assert moved[0] == pytest.approx([press[0] - 17 / ZOOM, press[1]], abs=1.0)
    assert moved[1:] == points[1:]  # vertex 23 among them: untouched


def test_a_wheel_step_moves_the_drawn_picture_and_the_view_is_drawn_again_when_it_rests(
    open_page, site, new_job
):
    """The quick view (render.js moveView): a zoom step transforms the canvas as a whole and leaves the
    shapes' own transform alone; a click during it lands where it is on screen; once the wheel rests the
    view is drawn for real and the canvas's transform is gone. The step, the reads and the click run in one
    task of the page, so the rest timer cannot fire between them however slow the machine is."""
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    viewport = page.locator("#canvas g.viewport")
    drawn = viewport.get_attribute("transform")
    x, y = (round(v) for v in client_point(page, 200, 150))  # events carry whole pixels

    during = page.evaluate(
        """([x, y]) => {
          const svg = document.getElementById('canvas');
          const renderer = window.polylogLabel.renderer;
          const at = { clientX: x, clientY: y, bubbles: true, cancelable: true };
          const before = renderer.toImage(x, y);
          svg.dispatchEvent(new WheelEvent('wheel', { ...at, deltaY: -300 }));
          const seen = {
            canvas: svg.style.transform,
            viewport: svg.querySelector('g.viewport').getAttribute('transform'),
            image: renderer.toImage(x, y),
            scale: renderer.scale,
            before,
          };
          svg.dispatchEvent(new MouseEvent('click', { ...at, button: 0 }));
          return seen;
        }""",
        [x, y],
    )
    assert during["canvas"].startswith("translate(") and "scale(" in during["canvas"]
    assert during["viewport"] == drawn  # nothing inside was restyled or moved
    assert during["scale"] > 1.5  # zoomed in (from the fitted view)
    assert during["image"] == pytest.approx(during["before"], abs=1e-6)  # the point under the wheel stays
    settled(page)
    [draft] = site.api().get(f"/api/items/{item['id']}/state/")["drafts"]
    assert draft["points"][0] == pytest.approx(during["before"], abs=0.01)  # the click landed right there

    expect(page.locator("#canvas")).to_have_css("transform", "none")
    assert viewport.get_attribute("transform") != drawn  # drawn again, zoomed


# The number tags shown on the canvas, as a function of the page.
SHOWN_TAGS = """() => [...document.querySelectorAll('#canvas .number-tag')]
  .filter((tag) => tag.style.display !== 'none' && tag.closest('.shape').style.display !== 'none').length"""


def test_a_wheel_gesture_is_drawn_again_only_past_4x_and_then_without_tags_until_it_rests(
    open_page, site, dense
):
    """The quick view's redraw rule (render.js moveView): eight wheel notches in (3.3x) draw nothing until
    the wheel rests; two more (4.5x since drawn) draw the view once in the middle of the gesture, which
    leaves the tags as they were (none at 10 %, where a ring is 31 px), and the tags of the rings now big
    enough show once the wheel rests. The notches and the reads run in one task of the page, so the rest
    timer cannot fire between them; the last drawing is dated long ago, so the once-a-second rule allows
    the redraw however fast the machine."""
    page = opened_at_17_percent(open_page, site, dense)
    page.evaluate("() => { const r = window.polylogLabel.renderer; r.zoomAt(0.1 / r.scale); r.applyView(); }")
    assert page.evaluate(SHOWN_TAGS) == 0
    seen = page.evaluate(
        """() => {
          const svg = document.getElementById('canvas');
          const renderer = window.polylogLabel.renderer;
          const box = svg.getBoundingClientRect();
          const at = { clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, bubbles: true, cancelable: true };
          const viewport = () => svg.querySelector('g.viewport').getAttribute('transform');
          const notches = (n) => { for (let k = 0; k < n; k += 1) svg.dispatchEvent(new WheelEvent('wheel', { ...at, deltaY: -100 })); };
          const drawn = viewport();
          renderer.drawnAt = -Infinity;
          notches(8);
          const afterEight = { viewport: viewport(), canvas: svg.style.transform };
          notches(2);
          return { drawn, afterEight, afterTen: viewport(), canvas: svg.style.transform, tags: (SHOWN_TAGS)() };
        }""".replace("SHOWN_TAGS", SHOWN_TAGS)  # counted in the same task
    )
    assert seen["afterEight"]["viewport"] == seen["drawn"]  # 3.3x: not drawn again mid-gesture
    assert "scale(" in seen["afterEight"]["canvas"]  # but moved as a whole
    assert seen["afterTen"] != seen["drawn"]  # 4.5x: drawn again in the gesture
    assert seen["tags"] == 0  # without making the tags the rings now have room for
    page.wait_for_function(f"() => ({SHOWN_TAGS})() > 0")  # at rest (150 ms later), they show


def test_file_labels_builds_the_rows_the_panel_scrolls_to_and_rebuilds_only_the_row_that_changed(
    open_page, site, dense
):
    """The panel on a dense image (panel.js row, buildNear): the first drawing builds the first 100 rows and
    nothing more while the page is idle (laying out hundreds of rows cost a frame of 70 ms and more, right
    when a person starts to zoom); scrolling the panel builds the rows it comes to, until every shape has its
    row; then another person's move of one shape rebuilds that shape's row alone, every other row staying
    the very element it was."""
    page = opened_at_17_percent(open_page, site, dense)
    rows = page.locator("#shape-list .shape-row:not(.pending)")
    expect(rows).to_have_count(100)
    page.evaluate("() => new Promise((done) => requestIdleCallback(() => setTimeout(done, 500)))")
    assert rows.count() == 100  # an idle page built nothing more
    stand_ins = page.locator("#shape-list .shape-row.pending")
    assert page.evaluate(
        """() => { const rows = document.querySelectorAll('#shape-list .shape-row');
          return rows[0].getBoundingClientRect().height - rows[rows.length - 1].getBoundingClientRect().height; }"""
    ) == pytest.approx(0, abs=1)  # a stand-in is as tall as a row: nothing jumps as rows are built
    last = dense["ids"][-1]
    page.evaluate(
        "() => { const panel = document.getElementById('panel'); panel.scrollTop = panel.scrollHeight; }"
    )
    expect(page.locator(f'#shape-list .shape-row[data-shape-id="{last}"]')).to_have_count(1)
    for _ in range(40):  # scrolling up through the panel, as a person would, until every row is built
        if stand_ins.count() == 0:
            break
        page.evaluate("() => { document.getElementById('panel').scrollBy(0, -400); }")
        page.wait_for_timeout(50)  # the frame that builds the rows now in reach
    expect(rows).to_have_count(COUNT)
    expect(page.locator("#shape-list .shape-row.pending")).to_have_count(0)
    page.evaluate(
        "() => document.querySelectorAll('#shape-list .shape-row').forEach((row) => { row.marked = true; })"
    )
    moved = dense["ids"][7]
    move = {"type": "move_shape", "shape_id": moved, "dx": 5, "dy": 0}
    seq = site.api().command(dense["item_id"], move)["seq"]
    expect(page.locator("body")).to_have_attribute("data-seq", str(seq))
    kept = page.evaluate(
        """(moved) => [...document.querySelectorAll('#shape-list .shape-row')]
          .filter((row) => row.marked).map((row) => row.dataset.shapeId)""",
        moved,
    )
    assert len(kept) == COUNT - 1
    assert moved not in kept
    expect(page.locator(f'#shape-list .shape-row[data-shape-id="{moved}"]')).to_have_count(1)


def test_a_shape_of_a_thousand_vertices_is_drawn_simplified_when_zoomed_out_and_whole_when_selected(
    open_page, site
):
    """render.js outline: zoomed out, an outline of 1,000 vertices (the most a polygon has) is drawn with the few that show (within
    half a screen pixel); selected (handles on), or zoomed in, with more, up to every vertex."""
    api = site.api()
    job = dense_job(api, ["detailed"])
    item_id = job["items"][0]["id"]
    wobbly = [
        [
            round(3000 + (1500 + 3 * math.sin(40 * a)) * math.cos(a), 2),
            round(2000 + (1500 + 3 * math.sin(40 * a)) * math.sin(a), 2),
        ]
        for a in (2 * math.pi * v / 1000 for v in range(1000))
    ]
    [shape_id] = paste(api, item_id, job["label_classes"][0]["id"], [wobbly])
    page = open_page("demo")
    open_item(page, site, item_id)
    polygon = page.locator(f'#canvas .shape[data-shape-id="{shape_id}"] polygon')
    drawn = lambda: len(polygon.get_attribute("points").split())  # noqa: E731
    expect(polygon).to_have_attribute("points", re.compile(r"\S"))
    fitted = drawn()
    assert 3 <= fitted < 400, fitted  # at about 20 %, 1,000 vertices drawn as a few hundred at most

    page.keyboard.press("e")
    page.mouse.click(*client_point(page, 3000, 2000))  # inside: selected, with its handles
    expect(page.locator("#canvas .shape.selected")).to_have_attribute("data-shape-id", shape_id)
    expect(page.locator("#canvas .shape.selected .vertex")).to_have_count(1000)
    assert drawn() == 1000

    page.keyboard.press("Escape")  # deselected, then zoomed in 8 times: more detail than fitted
    expect(page.locator("#canvas .shape.selected")).to_have_count(0)
    page.mouse.move(2, 2)
    page.evaluate("() => { const r = window.polylogLabel.renderer; r.zoomAt(8); r.applyView(); }")
    assert fitted < drawn() <= 1000


def test_the_image_is_drawn_from_a_preview_zoomed_out_and_from_the_file_zoomed_in(open_page, site, dense):
    """render.js showImage: at 17 % the 6000x4000 photo is drawn from its 2048-pixel preview; zoomed to
    100 % from the stored file, once that has loaded; zoomed out again, from the preview."""
    page = opened_at_17_percent(open_page, site, dense)
    image = page.locator("#canvas g.viewport > image")
    expect(image).to_have_attribute(
        "href", re.compile(rf"^/api/items/{dense['item_id']}/preview\.jpg\?v=\w+$")
    )
    size = page.evaluate(
        """async () => {
          const picture = new Image();
          picture.src = document.querySelector('#canvas g.viewport > image').getAttribute('href');
          await picture.decode();
          return [picture.naturalWidth, picture.naturalHeight];
        }"""
    )
    assert size == [2048, 1365]
    page.evaluate("() => { const r = window.polylogLabel.renderer; r.zoomAt(1 / r.scale); r.applyView(); }")
    expect(image).to_have_attribute("href", re.compile(r"^/media/"))
    page.evaluate("() => window.polylogLabel.renderer.fit()")
    expect(image).to_have_attribute("href", re.compile(r"preview\.jpg"))
