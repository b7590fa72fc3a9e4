"""Replay: an item's events as a timeline; scrub, step or play to a point and see the shapes as they were,
with what changed highlighted and who drew each shape; filter by person; compare two points. Read-only,
for auditors."""

from __future__ import annotations

import re

import pytest

from .conftest import ARTIFACTS
from .helpers import api_square, expect, label_id

pytestmark = pytest.mark.browser

DOG_ID = "2b3c4d5e-0000-4000-8000-000000000002"
CURRENT = re.compile(r"\bcurrent\b")  # the class of the row holding the seq shown


def _points(points: list[list[float]]) -> str:
    return " ".join(f"{x},{y}" for x, y in points)


def _session(site, job) -> tuple[int, str]:
    """demo adds a cat square (1), ann a dog triangle (2), demo moves his square (3), undoes (4), redoes (5)."""
    item_id = job["items"][0]["id"]
    cat, dog = (next(c["id"] for c in job["label_classes"] if c["name"] == n) for n in ("cat", "dog"))
    first = api_square(site, item_id, cat, 50, 50, 100)  # seq 1, demo
    site.api("ann").command(
        item_id,
        {
            "type": "add_polygon",
            "shape_id": DOG_ID,
            "label_class_id": dog,
            "points": [[300, 300], [400, 300], [350, 400]],
        },
    )  # seq 2, ann
    demo = site.api()
    demo.command(item_id, {"type": "move_shape", "shape_id": first, "dx": 20, "dy": 10})  # seq 3
    demo.command(item_id, {"type": "undo"})  # seq 4
    demo.command(item_id, {"type": "redo"})  # seq 5
    return item_id, first


def test_an_auditor_scrubs_steps_plays_and_filters_a_session(open_page, site, new_job):
    job = new_job(members=("ann",))
    item_id, first = _session(site, job)
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "bob", "role": "auditor"})

    commands = []
    page = open_page("bob")
    page.on("request", lambda r: commands.append(r.url) if r.method != "GET" else None)
    page.goto(site.url(f"/items/{item_id}/replay/"))
    body = page.locator("body")
    expect(body).to_have_attribute("data-ready", "true")
    expect(body).to_have_attribute("data-seq", "5")
    timeline = page.locator("#timeline > li")
    expect(timeline).to_have_count(5)
    expect(timeline.nth(1)).to_contain_text("ann")
    expect(timeline.nth(1)).to_contain_text("added dog #2 (3 vertices)")
    expect(timeline.nth(2)).to_contain_text("moved cat #1 by (20, 10)")
    expect(timeline.nth(3)).to_contain_text("undid 'moved cat #1 by (20, 10)'")
    expect(timeline.nth(4)).to_contain_text("redid 'moved cat #1 by (20, 10)'")

    square = page.locator(f'#canvas .shape[data-shape-id="{first}"] polygon')
    dog = page.locator(f'#canvas .shape[data-shape-id="{DOG_ID}"] polygon')
    original = _points([[50, 50], [150, 50], [150, 150], [50, 150]])
    moved = _points([[70, 60], [170, 60], [170, 160], [70, 160]])

    # Scrub to seq 2: both shapes, as they were drawn.
    scrub = page.get_by_label("Point in the history")
    scrub.fill("2")
    expect(body).to_have_attribute("data-seq", "2")
    expect(page.locator("#canvas .shape")).to_have_count(2)
    expect(square).to_have_attribute("points", original)
    expect(dog).to_have_attribute("points", _points([[300, 300], [400, 300], [350, 400]]))
    # The changes shown are counted from the point shown before (5): going back undid the move.
    expect(body).to_have_attribute("data-diff-from", "5")
    expect(page.locator(f'#canvas .shape.diff-changed[data-shape-id="{first}"]')).to_have_count(1)

    # Step forward: 3 moves the square (highlighted as changed), 4 undoes it, 5 redoes it.
    page.get_by_role("button", name="Next event").click()
    expect(body).to_have_attribute("data-seq", "3")
    expect(body).to_have_attribute("data-diff-from", "2")
    expect(square).to_have_attribute("points", moved)
    expect(page.locator("#canvas .shape.diff-changed")).to_have_count(1)
    expect(page.locator("#canvas .shape.diff-added")).to_have_count(0)
    expect(page.locator(f'#canvas .shape.diff-changed[data-shape-id="{first}"]')).to_have_count(1)
    expect(page.locator("#diff .changed")).to_contain_text("moved by (20, 10)")
    expect(timeline.nth(2)).to_have_class("current")
    page.keyboard.press("ArrowRight")
    expect(body).to_have_attribute("data-seq", "4")
    expect(square).to_have_attribute("points", original)
    expect(page.locator(f'#canvas .shape.diff-changed[data-shape-id="{first}"]')).to_have_count(1)
    expect(page.locator("#diff .changed")).to_contain_text("moved by (-20, -10)")
    page.keyboard.press("ArrowRight")
    expect(body).to_have_attribute("data-seq", "5")
    expect(square).to_have_attribute("points", moved)
    expect(page.locator("#diff .changed")).to_contain_text("moved by (20, 10)")
    page.keyboard.press("ArrowLeft")
    expect(body).to_have_attribute("data-seq", "4")
    page.get_by_role("button", name="Previous event").click()
    expect(body).to_have_attribute("data-seq", "3")

    # Who drew a shape: the SVG title and the tooltip on hover.
    expect(page.locator(f'#canvas .shape[data-shape-id="{DOG_ID}"] > title')).to_have_text(
        "dog, drawn by ann"
    )
    expect(page.locator(f'#canvas .shape[data-shape-id="{first}"] > title')).to_have_text(
        "cat, drawn by demo"
    )
    dog.hover()
    expect(page.locator("#replay-tip")).to_be_visible()
    expect(page.locator("#replay-tip")).to_have_text("dog, drawn by ann")

    # Play from the beginning runs to the end and stops; Space pauses and plays.
    page.get_by_role("button", name="First").click()
    expect(body).to_have_attribute("data-seq", "0")
    expect(page.locator("#canvas .shape")).to_have_count(0)
    page.get_by_role("button", name="Play").click()
    expect(body).to_have_attribute("data-playing", "true")
    expect(body).to_have_attribute("data-seq", "5")
    expect(body).to_have_attribute("data-playing", "false")
    page.get_by_role("button", name="First").click()
    expect(body).to_have_attribute("data-seq", "0")
    page.keyboard.press("Space")
    expect(body).to_have_attribute("data-playing", "true")
    page.keyboard.press("Space")
    expect(body).to_have_attribute("data-playing", "false")

    # ann's events only: the list shows hers, stepping moves between them.
    page.get_by_role("button", name="First").click()
    expect(body).to_have_attribute("data-seq", "0")
    page.get_by_label("Person").select_option(label="ann")
    expect(timeline).to_have_count(1)
    expect(timeline.first).to_have_attribute("data-seq", "2")
    expect(timeline.first).to_contain_text("ann")
    page.get_by_role("button", name="Next event").click()
    expect(body).to_have_attribute("data-seq", "2")
    page.get_by_role("button", name="Next event").click()  # no later event of hers: stays
    expect(body).to_have_attribute("data-seq", "2")
    page.get_by_label("Person").select_option(label="Everyone")
    expect(timeline).to_have_count(5)

    # Compare the end with seq 1: the dog added, the square changed.
    page.get_by_role("button", name="Last").click()
    expect(body).to_have_attribute("data-seq", "5")
    page.get_by_label("Compare with seq").fill("1")
    page.get_by_label("Compare with seq").press("Enter")
    expect(body).to_have_attribute("data-diff-from", "1")
    expect(page.locator("#diff .added")).to_have_count(1)
    expect(page.locator("#diff .added")).to_contain_text("dog #2 by ann")
    expect(page.locator("#diff .changed")).to_have_count(1)
    expect(page.locator("#canvas .shape.diff-changed")).to_have_count(1)
    expect(page.locator("#canvas .shape.diff-added")).to_have_count(1)

    assert commands == [], f"the replay page sent something other than GET: {commands}"


def test_a_deleted_shape_shows_as_a_ghost(open_page, site, new_job):
    job = new_job()
    item_id, first = _session(site, job)
    site.api().command(item_id, {"type": "delete_shape", "shape_id": first})  # seq 6

    page = open_page("demo")
    page.goto(site.url(f"/items/{item_id}/replay/"))
    body = page.locator("body")
    expect(body).to_have_attribute("data-seq", "6")
    expect(page.locator("#canvas .shape")).to_have_count(1)
    ghost = page.locator(f'#canvas .ghost[data-shape-id="{first}"]')
    expect(ghost).to_have_count(1)
    expect(ghost.locator("title")).to_have_text("cat (removed), drawn by demo")
    expect(page.locator("#diff .removed")).to_contain_text("cat #1 by demo")
    page.keyboard.press("ArrowLeft")
    expect(body).to_have_attribute("data-seq", "5")
    expect(page.locator("#canvas .ghost")).to_have_count(0)
    expect(page.locator("#canvas .shape")).to_have_count(2)


PENTAGON = [[100, 100], [200, 90], [240, 180], [160, 250], [80, 190]]


def _drawing_session(site, job) -> int:
    """demo draws a cat pentagon vertex by vertex (seq 1-3, 5-6) while ann adds a dog triangle (4), closes it
    (7), undoes it (8) and redoes it (9)."""
    item_id = job["items"][0]["id"]
    demo, ann = site.api(), site.api("ann")
    shape_id = "5e6f7a8b-0000-4000-8000-000000000005"
    for x, y in PENTAGON[:3]:
        demo.command(item_id, {"type": "add_vertex", "shape_id": shape_id, "x": x, "y": y})
    triangle = [[300, 300], [400, 300], [350, 400]]
    ann.command(
        item_id,
        {
            "type": "add_polygon",
            "shape_id": DOG_ID,
            "label_class_id": label_id(job, "dog"),
            "points": triangle,
        },
    )
    for x, y in PENTAGON[3:]:
        demo.command(item_id, {"type": "add_vertex", "shape_id": shape_id, "x": x, "y": y})
    demo.command(
        item_id, {"type": "close_polygon", "shape_id": shape_id, "label_class_id": label_id(job, "cat")}
    )
    demo.command(item_id, {"type": "undo"})
    demo.command(item_id, {"type": "redo"})
    return item_id


def test_a_drawn_polygon_is_one_row_that_opens_on_its_vertex_steps(open_page, site, new_job):
    job = new_job(members=("ann",))
    item_id = _drawing_session(site, job)

    page = open_page("demo")
    page.goto(site.url(f"/items/{item_id}/replay/"))
    body = page.locator("body")
    expect(body).to_have_attribute("data-seq", "9")
    rows = page.locator("#timeline > li")
    # ann's triangle came in the middle of the drawing: its own row, before the row of the drawing (at its close).
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("ann added dog #2 (3 vertices)")
    run = rows.nth(1)
    expect(run).to_contain_text("demo drew cat #1 (5 vertices)")
    expect(run).to_have_attribute("data-seq", "7")
    expect(rows.nth(2)).to_contain_text("demo undid 'drew cat #1 (5 vertices)'")
    expect(rows.nth(3)).to_contain_text("demo redid 'drew cat #1 (5 vertices)'")
    steps = run.locator(".run-steps > li")
    expect(steps).to_have_count(5)
    expect(steps.first).to_be_hidden()

    toggle = run.get_by_role("button", name="5 steps")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(steps.first).to_be_visible()
    expect(body).to_have_attribute("data-seq", "9")  # opening the run shows no other point
    expect(steps.locator(".replay-what")).to_have_text(
        [
            "started polygon #1 at (100, 100)",
            "added vertex 2 to polygon #1 at (200, 90)",
            "added vertex 3 to polygon #1 at (240, 180)",
            "added vertex 4 to polygon #1 at (160, 250)",
            "added vertex 5 to polygon #1 at (80, 190)",
        ]
    )
    expect(steps.locator(".seq")).to_have_text(["1", "2", "3", "5", "6"])
    page.screenshot(
        path=str(ARTIFACTS / "test_a_drawn_polygon_is_one_row_that_opens_on_its_vertex_steps-open.png")
    )

    # A step's row shows its seq; the run's row holds it, so it is highlighted too.
    steps.nth(2).click()
    expect(body).to_have_attribute("data-seq", "3")
    expect(page.locator("#canvas .draft")).to_have_count(1)
    expect(steps.nth(2)).to_have_class(CURRENT)
    expect(run).to_have_class(CURRENT)
    # Stepping visits every event: ann's triangle (her row current), then the drawing again.
    page.keyboard.press("ArrowRight")
    expect(body).to_have_attribute("data-seq", "4")
    expect(rows.nth(0)).to_have_class(CURRENT)
    expect(run).not_to_have_class(CURRENT)
    page.keyboard.press("ArrowRight")
    expect(body).to_have_attribute("data-seq", "5")
    expect(steps.nth(3)).to_have_class(CURRENT)

    # Closed again, the run's row is the current one while a step of it is shown; a click on it shows its close.
    toggle.click()
    expect(steps.first).to_be_hidden()
    expect(run).to_have_class(CURRENT)
    run.locator(":scope > .replay-what").click()
    expect(body).to_have_attribute("data-seq", "7")
    expect(page.locator("#canvas .shape")).to_have_count(2)


def test_at_1440x900_the_changes_and_the_events_are_both_on_screen_and_the_page_does_not_scroll(
    open_page, site, new_job
):
    """40 squares and an undo: the Changes list from the empty image is long, and so is the timeline; each
    scrolls inside itself, and both stay in view."""
    job = new_job()
    item_id = job["items"][0]["id"]
    cat = label_id(job, "cat")
    for n in range(40):
        api_square(site, item_id, cat, 10 + 60 * (n % 10), 10 + 60 * (n // 10), 40)
    site.api().command(item_id, {"type": "undo"})

    page = open_page("demo", viewport=(1440, 900))
    page.goto(site.url(f"/items/{item_id}/replay/"))
    expect(page.locator("body")).to_have_attribute("data-seq", "41")
    page.get_by_label("Compare with seq").fill("0")
    page.get_by_label("Compare with seq").press("Enter")
    expect(page.locator("#diff .added")).to_have_count(39)
    expect(page.locator("#timeline > li").last).to_contain_text("demo undid 'added cat #40 (4 vertices)'")

    sizes = page.evaluate(
        """() => {
        const box = (selector) => document.querySelector(selector).getBoundingClientRect();
        const list = (selector) => ({ ...box(selector).toJSON(), scrolls: document.querySelector(selector).scrollHeight > document.querySelector(selector).clientHeight });
        return {
            viewport: innerHeight,
            page: document.documentElement.scrollHeight,
            panel: { scrollHeight: document.querySelector('.replay-panel').scrollHeight, clientHeight: document.querySelector('.replay-panel').clientHeight },
            diff: list('#diff'),
            timeline: list('#timeline'),
        };
    }"""
    )

    assert sizes["page"] <= sizes["viewport"] == 900, sizes
    assert sizes["panel"]["scrollHeight"] <= sizes["panel"]["clientHeight"], sizes
    for name in ("diff", "timeline"):
        rect = sizes[name]
        assert rect["scrolls"], f"{name} is short enough not to scroll: the test proves nothing ({sizes})"
        assert rect["top"] >= 0 and rect["bottom"] <= sizes["viewport"], (
            f"{name} is not all on screen: {sizes}"
        )
        assert rect["height"] >= 100, f"{name} is squeezed: {sizes}"
    expect(page.locator("#events-title")).to_be_in_viewport()
    expect(page.locator("#timeline > li.current")).to_be_in_viewport()


def on_screen(page, x: float, y: float) -> tuple[float, float]:
    """Where the image pixel (x, y) is on the replay's canvas now."""
    return page.evaluate(
        """([x, y]) => {
          const viewport = document.querySelector('#canvas g.viewport');
          const point = new DOMPoint(x, y).matrixTransform(viewport.getScreenCTM());
          return [point.x, point.y];
        }""",
        [x, y],
    )


def test_hovering_a_shape_shows_its_vertex_handles(open_page, site, new_job):
    """As on the labeling page, handles are drawn where one looks: the replay has no selection, so the shape
    under the pointer shows its vertices, and none shows once the pointer leaves it."""
    job = new_job()
    item_id = _drawing_session(site, job)
    page = open_page("demo")
    page.goto(site.url(f"/items/{item_id}/replay/"))
    expect(page.locator("body")).to_have_attribute("data-seq", "9")
    expect(page.locator("#canvas .shape")).to_have_count(2)
    expect(page.locator("#canvas .vertex")).to_have_count(0)
    page.mouse.move(*on_screen(page, 160, 170))  # inside the pentagon
    expect(page.locator("#canvas .shape .vertex")).to_have_count(len(PENTAGON))
    page.mouse.move(*on_screen(page, 350, 340))  # inside the triangle
    expect(page.locator("#canvas .shape .vertex")).to_have_count(3)
    page.mouse.move(2, 2)
    expect(page.locator("#canvas .vertex")).to_have_count(0)
