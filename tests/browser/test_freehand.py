"""The freehand tool (issue 19 point 3), as a person uses it: a stroke dragged along an outline becomes one
`add_polygon` of the active label (simplified, kept on the image, one undo action), with a tolerance in
screen pixels (zoomed in, the same object keeps more vertices); Shift keeps the outline open for straight
sides and more stretches; Esc drops it. And simplify.js itself, imported in the page. Each checks the
server's state after."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from .helpers import api_square, client_point, expect, label_id, open_item, settled

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def state_of(site, item_id):
    return site.api().get(f"/api/items/{item_id}/state/")


def events_of(site, item_id):
    return [e["type"] for e in site.api().get(f"/api/items/{item_id}/events/?after=0&limit=100")["results"]]


def scale_of(page) -> float:
    return page.evaluate("() => window.polylogLabel.renderer.scale")


def ring(page, cx: float, cy: float, radius: float, moves: int) -> list[tuple[float, float]]:
    """A hand's loop around the image point (cx, cy): `radius` SCREEN pixels, `moves` pointer moves, with a
    small regular wobble (under the tolerance), back to where it started."""
    x0, y0 = client_point(page, cx, cy)
    return [
        (
            x0 + (radius + 0.6 * math.sin(k * 1.7)) * math.cos(2 * math.pi * k / moves),
            y0 + (radius + 0.6 * math.sin(k * 1.7)) * math.sin(2 * math.pi * k / moves),
        )
        for k in range(moves + 1)
    ]


def stroke(page, path: list[tuple[float, float]], *, release: bool = True) -> None:
    """Press at the path's first point, one pointer move per further point, release (unless told not to)."""
    page.mouse.move(*path[0])
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(x, y)
    if release:
        page.mouse.up()


def freehand(page, site, item_id: int):
    open_item(page, site, item_id)
    page.keyboard.press("a")
    expect(page.locator("#stage")).to_have_class("stage mode-draw_freehand")
    expect(page.get_by_role("button", name="Freehand tool")).to_have_class("active")


def test_a_stroke_is_one_simplified_polygon_of_the_active_label_and_one_undo(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    freehand(page, site, item["id"])
    page.keyboard.press("2")  # dog
    path = ring(page, 300, 220, 130, 300)
    stroke(page, path, release=False)
    expect(page.locator("#canvas .preview")).not_to_have_attribute("points", "")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tools-freehand-drawing.png"))
    assert state_of(site, item["id"])["shapes"] == []  # nothing is sent while the button is held
    page.mouse.up()
    settled(page)

    [shape] = state_of(site, item["id"])["shapes"]
    assert shape["label_class_id"] == label_id(job, "dog")
    points = shape["points"]
    assert 8 <= len(points) <= len(path) // 5  # far fewer than the 300 moves
    width, height = item["image"]["width"], item["image"]["height"]
    assert all(0 <= x <= width and 0 <= y <= height for x, y in points)
    assert all(round(v, 2) == v for point in points for v in point)
    # The loop in image pixels: every vertex is on it (tolerance 2 px on screen, the wobble 0.6).
    radius = 130 / scale_of(page)
    assert all(abs(math.hypot(x - 300, y - 220) - radius) < 4 / scale_of(page) for x, y in points)
    assert events_of(site, item["id"]) == ["polygon_added"]  # one command, no draft steps
    page.screenshot(path=str(ARTIFACTS / "tools-freehand-drawn.png"))

    page.mouse.click(*client_point(page, 500, 400))  # a click alone draws nothing
    settled(page)
    assert len(state_of(site, item["id"])["shapes"]) == 1

    page.keyboard.press("Control+z")  # the whole outline goes in one undo
    settled(page)
    assert state_of(site, item["id"])["shapes"] == []


def test_a_stroke_past_the_border_runs_along_it(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    freehand(page, site, item["id"])
    scale = scale_of(page)
    # A loop around (30, 100) of 80 image pixels: it starts on the image (to the right) and goes far
    # past the left border.
    stroke(page, ring(page, 30, 100, 80 * scale, 200))
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    xs = [x for x, _ in shape["points"]]
    assert min(xs) == 0 and all(x >= 0 for x in xs)


def test_the_tolerance_is_in_screen_pixels_so_zooming_in_keeps_more_vertices(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    freehand(page, site, item["id"])

    def draw(cx, cy, screen_radius):
        before = {s["id"] for s in state_of(site, item["id"])["shapes"]}
        stroke(page, ring(page, cx, cy, screen_radius, 400))
        settled(page)
        [shape] = [s for s in state_of(site, item["id"])["shapes"] if s["id"] not in before]
        return shape["points"]

    fit = scale_of(page)
    small = draw(320, 240, 50 * fit)  # 50 image pixels, at fit
    same_on_screen = draw(320, 240, 100)  # 100 screen pixels
    for _ in range(3):
        page.keyboard.press("=")  # zoom in about 2x at the centre
    zoomed = scale_of(page)
    assert zoomed > 1.8 * fit
    large = draw(320, 240, 50 * zoomed)  # the same 50 image pixels, twice as large on screen
    same_on_screen_zoomed = draw(320, 240, 100)  # the same 100 screen pixels, half as large on the image
    page.screenshot(path=str(ARTIFACTS / "tools-freehand-zoomed.png"))

    # The same object drawn zoomed in keeps more vertices (an image-pixel tolerance would keep as many).
    assert len(large) >= 1.25 * len(small)
    # The same stroke on screen keeps about as many vertices at either zoom, so relative to its size on the
    # image, zoomed in has about twice as many.
    assert abs(len(same_on_screen_zoomed) - len(same_on_screen)) <= 0.2 * len(same_on_screen)

    def extent(points):
        return max(x for x, _ in points) - min(x for x, _ in points)

    per_pixel = len(same_on_screen) / extent(same_on_screen)
    per_pixel_zoomed = len(same_on_screen_zoomed) / extent(same_on_screen_zoomed)
    assert per_pixel_zoomed >= 1.5 * per_pixel


def test_shift_keeps_the_outline_open_for_straight_sides_and_more_stretches(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    freehand(page, site, item["id"])
    page.keyboard.press("3")  # bird
    scale = scale_of(page)

    # Freehand along an arc, released with Shift held: the outline stays open, nothing is sent.
    page.keyboard.down("Shift")
    arc = [
        client_point(page, 200 + 80 * math.cos(t / 40 * math.pi), 250 - 80 * math.sin(t / 40 * math.pi))
        for t in range(41)
    ]
    stroke(page, arc)  # from (280, 250) over the top to (120, 250)
    # Two straight sides: Shift+clicks.
    page.mouse.click(*client_point(page, 120, 350))
    page.mouse.click(*client_point(page, 280, 350))
    page.keyboard.up("Shift")
    expect(page.locator("#canvas .preview")).not_to_have_attribute("points", "")
    page.screenshot(path=str(ARTIFACTS / "tools-freehand-open.png"))
    assert state_of(site, item["id"])["shapes"] == []
    assert events_of(site, item["id"]) == []

    # A click without Shift adds its point and closes: one add_polygon of the whole outline.
    page.mouse.click(*client_point(page, 300, 300))
    settled(page)
    [shape] = state_of(site, item["id"])["shapes"]
    assert shape["label_class_id"] == label_id(job, "bird")
    points = shape["points"]
    assert [[round(x), round(y)] for x, y in points[-3:]] == [[120, 350], [280, 350], [300, 300]]
    arc_part = points[:-3]
    assert 5 <= len(arc_part) < 30  # the arc, simplified
    assert all(abs(math.hypot(x - 200, y - 250) - 80) < 3 / scale for x, y in arc_part)
    assert events_of(site, item["id"]) == ["polygon_added"]

    # Shift+clicks alone (click mode throughout), then Enter: a polygon of exactly those points.
    page.keyboard.down("Shift")
    for x, y in [(400, 100), (500, 100), (450, 180)]:
        page.mouse.click(*client_point(page, x, y))
    page.keyboard.up("Shift")
    page.keyboard.press("Enter")
    settled(page)
    triangle = state_of(site, item["id"])["shapes"][1]["points"]
    assert [[round(x), round(y)] for x, y in triangle] == [[400, 100], [500, 100], [450, 180]]
    assert events_of(site, item["id"]) == ["polygon_added", "polygon_added"]

    page.keyboard.press("Control+z")
    settled(page)
    assert [s["id"] for s in state_of(site, item["id"])["shapes"]] == [shape["id"]]


def test_esc_drops_the_stroke_and_a_tiny_stroke_is_refused_with_nothing_sent(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    freehand(page, site, item["id"])
    path = ring(page, 300, 220, 100, 120)
    stroke(page, path[:80], release=False)
    page.keyboard.press("Escape")
    expect(page.locator("#canvas .preview")).to_have_attribute("points", "")
    for x, y in path[80:]:
        page.mouse.move(x, y)  # the rest of the drag draws nothing
    page.mouse.up()

    # An open outline dropped with Esc sends nothing either.
    page.keyboard.down("Shift")
    stroke(page, path[:60])
    page.keyboard.up("Shift")
    page.keyboard.press("Escape")
    expect(page.locator("#canvas .preview")).to_have_attribute("points", "")
    page.keyboard.press("Enter")  # nothing left to close

    # A wiggle of a few pixels is no outline: refused in the page, with a message.
    x, y = client_point(page, 400, 300)
    stroke(page, [(x, y), (x + 4, y), (x + 4, y + 1), (x, y + 1)])
    expect(page.locator('#notices .notice.refusal[data-code="too_small"]')).to_have_count(1)
    settled(page)
    assert state_of(site, item["id"])["shapes"] == []
    assert events_of(site, item["id"]) == []


def test_the_ends_of_a_stroke_snap_onto_a_neighbour_exactly_and_alt_snaps_nothing(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "cat"), 100, 100, 150)
    page = open_page("demo")
    freehand(page, site, item["id"])
    scale = scale_of(page)
    # From a few screen pixels beside the square's top right vertex, round to the right, to a few pixels
    # beside its bottom right one.
    top_x, top_y = client_point(page, 250, 100)
    bottom_x, bottom_y = client_point(page, 250, 250)
    middle_y = (top_y + bottom_y) / 2
    half = (bottom_y - top_y) / 2
    arc = [
        (top_x + 3 + half * math.sin(math.pi * k / 60), middle_y - half * math.cos(math.pi * k / 60))
        for k in range(61)
    ]
    arc[0] = (top_x + 3, top_y - 2)
    arc[-1] = (bottom_x + 2, bottom_y + 3)

    stroke(page, arc)
    settled(page)
    [square, drawn] = state_of(site, item["id"])["shapes"]
    assert drawn["points"][0] == [250, 100]  # the neighbour's vertices, exactly
    assert drawn["points"][-1] == [250, 250]
    assert len(drawn["points"]) > 4

    page.keyboard.press("Control+z")
    settled(page)
    page.keyboard.down("Alt")
    stroke(page, arc)
    page.keyboard.up("Alt")
    settled(page)
    [square, drawn] = state_of(site, item["id"])["shapes"]
    first, last = drawn["points"][0], drawn["points"][-1]
    assert first != [250, 100] and abs(first[0] - (250 + 3 / scale)) < 0.02
    assert last != [250, 250] and abs(last[1] - (250 + 3 / scale)) < 0.02


def test_an_auditor_has_no_freehand_tool(open_page, site, new_job):
    job = new_job()
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "bob", "role": "auditor"})
    page = open_page("bob")
    open_item(page, site, job["items"][0]["id"])
    expect(page.get_by_role("button", name="Freehand tool")).to_be_disabled()
    page.keyboard.press("a")
    expect(page.locator("#stage")).to_have_class("stage mode-edit")


SIMPLIFY_CASES = """async () => {
  const { simplify } = await import('/static/polylog/label/simplify.js');
  // A straight line with a wobble under the tolerance: its two ends.
  const line = Array.from({ length: 50 }, (_, i) => [i, (i % 2) * 0.5]);
  // A square's outline walked in 1 px steps: its corners.
  const square = [];
  for (let i = 0; i < 100; i += 1) square.push([i, 0]);
  for (let i = 0; i < 100; i += 1) square.push([100, i]);
  for (let i = 0; i < 100; i += 1) square.push([100 - i, 100]);
  for (let i = 0; i <= 100; i += 1) square.push([0, 100 - i]);
  // A long zigzag whose every point matters (as deep as a recursive version could go): all kept.
  const zigzag = Array.from({ length: 100000 }, (_, i) => [i, (i % 2) * 10]);
  // A spiral of 5,000 points (a recursive version recurses deeply on it).
  const spiral = Array.from({ length: 5000 }, (_, i) => [i * Math.cos(i / 50), i * Math.sin(i / 50)]);
  const kept = simplify(spiral, 1);
  let farthest = 0;
  for (const p of spiral) {
    let best = Infinity;
    for (let k = 0; k + 1 < kept.length; k += 1) {
      const [a, b] = [kept[k], kept[k + 1]];
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy || 1)));
      best = Math.min(best, Math.hypot(a[0] + t * dx - p[0], a[1] + t * dy - p[1]));
    }
    farthest = Math.max(farthest, best);
  }
  return {
    line: simplify(line, 1),
    square: simplify(square, 1),
    zigzag: simplify(zigzag, 1).length,
    spiral: [kept.length, farthest, kept[0] === spiral[0], kept.at(-1) === spiral.at(-1)],
    untouched: simplify(line, 0).length,
    short: simplify([[0, 0], [5, 5]], 10),
  };
}"""


def test_simplify_keeps_what_lies_beyond_the_tolerance_and_nothing_else(open_page, site, new_job):
    job = new_job()
    page = open_page("demo")
    open_item(page, site, job["items"][0]["id"])
    result = page.evaluate(SIMPLIFY_CASES)
    assert result["line"] == [[0, 0], [49, 0.5]]
    assert result["square"] == [[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]]
    assert result["zigzag"] == 100000
    kept, farthest, first, last = result["spiral"]
    assert 50 < kept < 5000 and farthest <= 1 and first and last
    assert result["untouched"] == 50  # tolerance 0: every point
    assert result["short"] == [[0, 0], [5, 5]]
