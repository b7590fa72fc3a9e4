"""Snapping and tracing along a neighbour on the labeling page (issue 19 point 4), as a person uses them:
a vertex clicked, a rectangle's corner or a vertex dragged near another shape's vertex lands exactly on it,
near its edge onto the edge; Alt held snaps nothing; two clicks on a neighbour's outline trace it (the
shorter way, T: the other). The measure: two neighbours drawn with snapping export to VOC masks with no
pixel in both and no background pixel between them along the shared border. Each step checks the server.
"""

from __future__ import annotations

import io
import math
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest

from apps.interchange.voc import ring_spans

from .helpers import api_square, choose_label, click_image, client_point, expect, label_id, open_item, settled

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
VIEWPORT = (1440, 900)
# A's right side zigzags, so a straight border drawn near it overlaps it or leaves a gap somewhere.
A = [(100, 100), (300, 100), (340, 180), (290, 260), (330, 340), (100, 340)]


def near(points: list[list[float]], expected: list[tuple[float, float]]) -> bool:
    """Whether `points` are where these image pixels were clicked. A click lands on a whole screen pixel,
    up to one off each way (Chromium truncates a fractional position, and the image's offset on screen is
    fractional under the label and review bars): at these tests' zoom (about 1.26) within 1.2 image pixels."""
    return len(points) == len(expected) and all(
        math.dist(p, q) < 1.5 for p, q in zip(points, expected, strict=True)
    )


def state_of(site: Any, item_id: int) -> dict[str, Any]:
    return site.api().get(f"/api/items/{item_id}/state/")


def draft_points(site: Any, item_id: int) -> list[list[float]]:
    [draft] = state_of(site, item_id)["drafts"]
    return draft["points"]


def api_polygon(site: Any, item_id: int, label_class_id: int, points: list[tuple[float, float]]) -> str:
    import uuid

    shape_id = str(uuid.uuid4())
    site.api().command(
        item_id,
        {"type": "add_polygon", "shape_id": shape_id, "label_class_id": label_class_id, "points": points},
    )
    return shape_id


def hover(page: Any, x: float, y: float) -> None:
    page.mouse.move(*client_point(page, x, y))


def alt_click(page: Any, x: float, y: float) -> None:
    page.keyboard.down("Alt")
    click_image(page, x, y)
    page.keyboard.up("Alt")


def draw_a(page: Any, site: Any, item_id: int) -> list[list[float]]:
    """Shape A, clicked by the person (cat); its points as the server holds them."""
    choose_label(page, "cat")
    for x, y in A:
        click_image(page, x, y)
    click_image(page, *A[0])
    settled(page)
    [shape] = state_of(site, item_id)["shapes"]
    assert near(shape["points"], A)
    return shape["points"]


def draw_b(page: Any, *, snapping: bool) -> None:
    """Shape B (dog) to the right of A: two corners of its own, then a click near A's vertex (330, 340)
    and one near A's vertex (300, 100), a few pixels off each; with snapping the second click traces A's
    zigzag between them. Closed on its first vertex."""
    choose_label(page, "dog")
    click = click_image if snapping else alt_click
    click_image(page, 450, 100)
    click_image(page, 450, 340)
    click(page, 333, 342)
    click(page, 302, 98)
    click_image(page, 450, 100)


def masks(site: Any, job: dict[str, Any], item: dict[str, Any]) -> tuple[list[bytes], int, int]:
    """The item's SegmentationClass PNG from the job's VOC export (the REST endpoint), as rows of class
    indices (cat 1, dog 2, 0 background)."""
    from PIL import Image

    api = site.api()
    name = item["image"]["name"]
    request = urllib.request.Request(
        site.url(f"/api/jobs/{job['id']}/export/?format=voc&q={name}"),
        headers={"Authorization": f"Token {api.token}"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=60) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    labelmap = archive.read("labelmap.txt").decode().splitlines()
    assert [line.split(":")[0] for line in labelmap] == ["background", "cat", "dog", "bird"]
    stem = name.rsplit(".", 1)[0]
    picture = Image.open(io.BytesIO(archive.read(f"SegmentationClass/{stem}.png")))
    width, height = picture.size
    data = picture.tobytes()
    return [data[r * width : (r + 1) * width] for r in range(height)], width, height


def pixels(points: list[list[float]], width: int, height: int) -> set[tuple[int, int]]:
    """The pixels of one shape, by the VOC exporter's own rasteriser (column, row)."""
    ring = tuple((x, y) for x, y in points)
    return {
        (c, r) for r, spans in ring_spans(ring, width, height).items() for a, b in spans for c in range(a, b)
    }


def border_measure(site: Any, job: dict[str, Any], item: dict[str, Any]) -> tuple[int, int, int]:
    """(overlap, gap, rows): pixels inside both shapes (each rasterised alone, as the exporter does),
    background pixels between A and B on the rows of the shared border in the exported class mask, and
    how many rows that checked."""
    shapes = {s["label_class_id"]: s["points"] for s in state_of(site, item["id"])["shapes"]}
    rows, width, height = masks(site, job, item)
    a = pixels(shapes[label_id(job, "cat")], width, height)
    b = pixels(shapes[label_id(job, "dog")], width, height)
    # The export holds exactly the two shapes: A's pixels cat, B's dog (B painted last over any overlap).
    assert {(c, r) for r, row in enumerate(rows) for c, v in enumerate(row) if v == 1} == a - b
    assert {(c, r) for r, row in enumerate(rows) for c, v in enumerate(row) if v == 2} == b
    gap = 0
    checked = 0
    for r in range(math.ceil(100 - 0.5) + 1, math.ceil(340 - 0.5) - 1):
        row = rows[r]
        cat = [c for c, v in enumerate(row) if v == 1]
        dog = [c for c, v in enumerate(row) if v == 2]
        if not cat or not dog:
            continue
        checked += 1
        gap += sum(1 for c in range(max(cat) + 1, min(dog)) if row[c] == 0)
    return len(a & b), gap, checked


def test_two_neighbours_drawn_with_snapping_export_to_voc_masks_with_no_overlap_and_no_gap(
    open_page, site, new_job
):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    a = draw_a(page, site, item["id"])

    draw_b(page, snapping=True)
    settled(page)
    shapes = state_of(site, item["id"])["shapes"]
    assert len(shapes) == 2
    b = next(s["points"] for s in shapes if s["label_class_id"] == label_id(job, "dog"))
    # B's shared border is A's own vertices, the very same numbers, A's zigzag traced between the clicks.
    assert b[2:] == [a[4], a[3], a[2], a[1]]
    assert near(b[:2], [(450, 100), (450, 340)])
    page.screenshot(path=str(ARTIFACTS / "snapping-voc-neighbours.png"))

    overlap, gap, rows = border_measure(site, job, item)
    assert rows > 200
    assert overlap == 0
    assert gap == 0


def test_without_snapping_alt_the_border_vertices_differ_and_the_masks_overlap(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    a = draw_a(page, site, item["id"])

    draw_b(page, snapping=False)
    settled(page)
    b = next(
        s["points"]
        for s in state_of(site, item["id"])["shapes"]
        if s["label_class_id"] == label_id(job, "dog")
    )
    assert len(b) == 4  # nothing traced
    assert b[2] != a[4] and b[3] != a[1]  # where it was clicked, a few pixels off A's vertices
    assert near(b[2:], [(333, 342), (302, 98)])

    overlap, gap, rows = border_measure(site, job, item)
    assert rows > 200
    assert overlap > 0  # a straight border across A's zigzag: the measure sees it


def test_a_click_near_a_vertex_lands_on_it_near_an_edge_onto_the_edge(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "cat"), 100, 100, 200)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])

    # Hovering near the vertex shows where a click would land: on the vertex (closer than the edge too).
    hover(page, 302, 103)
    indicator = page.locator("#canvas .snap-indicator.on")
    expect(indicator).to_have_attribute("data-kind", "vertex")
    expect(indicator).to_have_attribute("cx", "300")
    expect(indicator).to_have_attribute("cy", "100")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "snapping-indicator-vertex.png"))
    click_image(page, 302, 103)
    settled(page)
    assert draft_points(site, item["id"]) == [[300, 100]]

    hover(page, 303, 180)
    expect(indicator).to_have_attribute("data-kind", "edge")
    expect(indicator).to_have_attribute("cx", "300")
    page.screenshot(path=str(ARTIFACTS / "snapping-indicator-edge.png"))
    click_image(page, 303, 180)
    settled(page)
    [first, second] = draft_points(site, item["id"])
    assert second[0] == 300 and abs(second[1] - 180) < 1  # on the edge x = 300, where it was clicked along it

    # Far from every shape: no indicator, the vertex goes where clicked.
    hover(page, 420, 250)
    expect(page.locator("#canvas .snap-indicator.on")).to_have_count(0)
    click_image(page, 420, 250)
    settled(page)
    assert near(draft_points(site, item["id"])[-1:], [(420, 250)])


def test_alt_held_snaps_nothing(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "cat"), 100, 100, 200)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])

    page.keyboard.down("Alt")
    hover(page, 302, 103)
    expect(page.locator("#canvas .snap-indicator.on")).to_have_count(0)
    click_image(page, 302, 103)
    click_image(page, 303, 180)
    page.keyboard.up("Alt")
    settled(page)
    [first, second] = draft_points(site, item["id"])
    assert first != [300, 100] and near([first], [(302, 103)])
    assert second[0] != 300 and near([second], [(303, 180)])


def test_the_rectangle_tool_snaps_its_corners(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, "cat"), 100, 100, 150)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    page.keyboard.press("b")
    choose_label(page, "dog")
    hover(page, 252, 102)
    expect(page.locator("#canvas .snap-indicator.on")).to_have_attribute("data-kind", "vertex")
    page.mouse.down()
    page.mouse.move(*client_point(page, 400, 200), steps=5)
    page.mouse.move(*client_point(page, 402, 251), steps=2)  # the end is snapped nowhere: nothing near
    page.mouse.up()
    settled(page)
    box = next(s for s in state_of(site, item["id"])["shapes"] if s["label_class_id"] != label_id(job, "cat"))
    assert box["points"][0] == [250, 100]  # the corner pressed near the square's vertex is on it
    assert near(box["points"][2:3], [(402, 251)])


def test_a_vertex_dragged_in_the_edit_tool_snaps_and_alt_during_the_drag_does_not(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    cat = label_id(job, "cat")
    api_square(site, item["id"], cat, 100, 100, 150)  # A: 100..250
    b_id = api_square(site, item["id"], label_id(job, "dog"), 300, 100, 150)  # B: 300..450
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    page.keyboard.press("e")
    click_image(page, 375, 175)
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)

    def b_points() -> list[list[float]]:
        return next(s["points"] for s in state_of(site, item["id"])["shapes"] if s["id"] == b_id)

    # B's top-left vertex dragged near A's top-right vertex: exactly on it.
    page.mouse.move(*client_point(page, 300, 100))
    page.mouse.down()
    page.mouse.move(*client_point(page, 253, 102), steps=6)
    expect(page.locator("#canvas .snap-indicator.on")).to_have_attribute("data-kind", "vertex")
    page.screenshot(path=str(ARTIFACTS / "snapping-edit-drag.png"))
    page.mouse.up()
    settled(page)
    assert b_points()[0] == [250, 100]

    # B's bottom-left vertex dragged near A's right edge: onto the edge.
    page.mouse.move(*client_point(page, 300, 250))
    page.mouse.down()
    page.mouse.move(*client_point(page, 253, 200), steps=6)
    expect(page.locator("#canvas .snap-indicator.on")).to_have_attribute("data-kind", "edge")
    page.mouse.up()
    settled(page)
    assert b_points()[3][0] == 250 and abs(b_points()[3][1] - 200) < 1

    # Alt pressed once the drag has started (on the press it removes the vertex): no snapping.
    page.mouse.move(*client_point(page, 450, 250))
    page.mouse.down()
    page.mouse.move(*client_point(page, 400, 240), steps=3)
    page.keyboard.down("Alt")
    page.mouse.move(*client_point(page, 253, 248), steps=6)
    expect(page.locator("#canvas .snap-indicator.on")).to_have_count(0)
    page.mouse.up()
    page.keyboard.up("Alt")
    settled(page)
    assert near(b_points()[2:3], [(253, 248)])
    assert b_points()[2] != [250, 250]


# A's outline: a 200 x 200 square with a vertex in the middle of every side, counter-clockwise on screen.
RING = [(100, 100), (200, 100), (300, 100), (300, 200), (300, 300), (200, 300), (100, 300), (100, 200)]


def test_two_clicks_on_a_neighbour_trace_its_outline_the_shorter_way_each_vertex_one_undo(
    open_page, site, new_job
):
    job = new_job()
    item = job["items"][0]
    api_polygon(site, item["id"], label_id(job, "cat"), RING)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    choose_label(page, "dog")

    click_image(page, 302, 98)  # near A's vertex (300, 100): B starts on it
    settled(page)
    assert draft_points(site, item["id"]) == [[300, 100]]
    hover(page, 303, 302)  # near (300, 300): the shorter way, through (300, 200), is shown
    expect(page.locator("#canvas .trace-preview")).to_have_attribute("points", "300,100 300,200 300,300")
    page.screenshot(path=str(ARTIFACTS / "snapping-trace-preview.png"))
    click_image(page, 303, 302)
    settled(page)
    assert draft_points(site, item["id"]) == [[300, 100], [300, 200], [300, 300]]
    events = site.api().get(f"/api/items/{item['id']}/events/?after=0&limit=50")["results"]
    assert [e["type"] for e in events] == ["polygon_added", "vertex_added", "vertex_added", "vertex_added"]

    # Each traced vertex is a step of its own: one undo takes back one (redo puts it back).
    page.keyboard.press("Control+z")
    settled(page)
    assert draft_points(site, item["id"]) == [[300, 100], [300, 200]]
    page.keyboard.press("Control+Shift+z")
    settled(page)
    assert draft_points(site, item["id"]) == [[300, 100], [300, 200], [300, 300]]

    click_image(page, 400, 300)
    click_image(page, 400, 100)
    click_image(page, 302, 98)  # B's first vertex: closes (its last vertex is not on A: nothing traced)
    settled(page)
    b = next(s for s in state_of(site, item["id"])["shapes"] if s["label_class_id"] == label_id(job, "dog"))
    assert b["points"][:3] == [[300, 100], [300, 200], [300, 300]]
    assert near(b["points"][3:], [(400, 300), (400, 100)])
    assert state_of(site, item["id"])["drafts"] == []
    page.screenshot(path=str(ARTIFACTS / "snapping-trace-closed.png"))


def test_t_traces_the_other_way_round(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    api_polygon(site, item["id"], label_id(job, "cat"), RING)
    page = open_page("demo", viewport=VIEWPORT)
    open_item(page, site, item["id"])
    choose_label(page, "dog")

    click_image(page, 302, 98)
    hover(page, 303, 302)
    preview = page.locator("#canvas .trace-preview")
    expect(preview).to_have_attribute("points", "300,100 300,200 300,300")
    page.keyboard.press("t")
    expect(preview).to_have_attribute("points", "300,100 200,100 100,100 100,200 100,300 200,300 300,300")
    page.screenshot(path=str(ARTIFACTS / "snapping-trace-other-way.png"))
    click_image(page, 303, 302)
    settled(page)
    assert draft_points(site, item["id"]) == [
        [300, 100],
        [200, 100],
        [100, 100],
        [100, 200],
        [100, 300],
        [200, 300],
        [300, 300],
    ]
    expect(preview).to_have_attribute("points", "")  # nothing to trace from where the draft ends now
