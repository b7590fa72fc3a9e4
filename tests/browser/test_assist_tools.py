"""The assisted tools (issue 23, docs/ui.md "Assisted outlines"): scissors, box to polygon, magic wand and the
model tool, against the live server's real routes (the model tool's server is the fake model on loopback the
package's server is configured with, tests/assist_model_servers.py).

For each tool: a proposal appears (dashed, with handles), a handle can be dragged, Enter accepts it as one
add_polygon (the server's state holds the polygon with the moved vertex), Esc drops it (the state and its
seq stay as they were: no event), and Ctrl+Z takes the accepted polygon back whole. The image is synthetic:
a dark disc on a light background (Pillow), so every tool has a clear object to find.
"""

from __future__ import annotations

import io
import math
import re
import uuid
from typing import Any

import pytest

from .conftest import ARTIFACTS
from .helpers import click_image, client_point, expect, open_item, settled, shape_rows, upload

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 640, 480
CENTRE = (320.0, 240.0)
RADIUS = 110.0
BOX = (190.0, 110.0, 450.0, 370.0)  # around the disc, with a margin of background


def disc_png() -> bytes:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (WIDTH, HEIGHT), (226, 224, 218))
    draw = ImageDraw.Draw(picture)
    cx, cy = CENTRE
    draw.ellipse((cx - RADIUS, cy - RADIUS, cx + RADIUS, cy + RADIUS), fill=(38, 44, 60))
    data = io.BytesIO()
    picture.save(data, format="PNG")
    return data.getvalue()


@pytest.fixture(scope="module")
def disc_dataset(site: Any) -> int:
    api = site.api()
    dataset = api.post("/api/datasets/", {"name": f"Disc {uuid.uuid4().hex[:8]}"})
    upload(api, dataset["id"], {"disc.png": disc_png()})
    return dataset["id"]


@pytest.fixture
def disc_item(site: Any, disc_dataset: int) -> dict[str, Any]:
    """A new job over the disc image (ann and bob annotate): its one item, with the job under "job"."""
    api = site.api()
    job = api.post(
        "/api/jobs/",
        {
            "name": f"Assist {uuid.uuid4().hex[:8]}",
            "dataset": disc_dataset,
            "label_classes": [{"name": "disc", "color": "#e6194b"}, {"name": "other", "color": "#3cb44b"}],
        },
    )
    for member in ("ann", "bob"):
        api.post(f"/api/jobs/{job['id']}/members/", {"username": member, "role": "annotator"})
    item = api.get(f"/api/jobs/{job['id']}/items/")["results"][0]
    return {**item, "job": job}


def on_circle(degrees: float, radius: float = RADIUS) -> tuple[float, float]:
    angle = math.radians(degrees)
    return CENTRE[0] + radius * math.cos(angle), CENTRE[1] + radius * math.sin(angle)


def state(site: Any, item_id: int) -> dict[str, Any]:
    return site.api().get(f"/api/items/{item_id}/state/")


def proposal(page: Any) -> list[list[float]]:
    """The proposal's points as drawn (image pixels), waiting for one to be shown and its answer to be in."""
    expect(page.locator("#canvas .assist .proposal-vertex").first).to_be_attached()
    expect(page.locator("body")).to_have_attribute("data-assist-busy", "false")
    raw = page.locator("#canvas .assist .proposal").get_attribute("points")
    return [[float(v) for v in pair.split(",")] for pair in raw.split()]


def picture(page: Any, name: str) -> None:
    """The page as it looks now, as var/test-artifacts/assist-<name>.png (the tests' own pictures of each tool
    at work; the fixture keeps the last view of each test as well)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"assist-{name}.png"))


def click_holding(page: Any, key: str, x: float, y: float) -> None:
    """A click on image pixel (x, y) with `key` (Shift, Alt) held."""
    page.keyboard.down(key)
    click_image(page, x, y)
    page.keyboard.up(key)


def no_proposal(page: Any) -> None:
    expect(page.locator("#canvas .assist .proposal-vertex")).to_have_count(0)


def drag_handle(page: Any, points: list[list[float]], index: int, by: tuple[float, float]) -> list[float]:
    """Drag the proposal's vertex `index` by `by` image pixels; where the page put it (image pixels)."""
    start = client_point(page, *points[index])
    end = client_point(page, points[index][0] + by[0], points[index][1] + by[1])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=5)
    page.mouse.up()
    moved = proposal(page)[index]
    assert math.dist(moved, [points[index][0] + by[0], points[index][1] + by[1]]) < 1.0
    return moved


def accepted_with(page: Any, site: Any, item_id: int, vertex: list[float]) -> dict[str, Any]:
    """Enter accepts: one polygon of the active label on the server, holding the moved vertex."""
    page.keyboard.press("Enter")
    no_proposal(page)
    settled(page)
    shapes = state(site, item_id)["shapes"]
    assert len(shapes) == 1
    assert any(math.dist(p, vertex) < 0.02 for p in shapes[0]["points"]), (vertex, shapes[0]["points"])
    return shapes[0]


def undone_whole(page: Any, site: Any, item_id: int) -> None:
    page.keyboard.press("Control+z")
    settled(page)
    expect(shape_rows(page)).to_have_count(0)
    assert state(site, item_id)["shapes"] == []


def dropped(page: Any, site: Any, item_id: int) -> None:
    """Esc drops the proposal shown: nothing on the server changes, not even its seq (no event)."""
    before = state(site, item_id)
    page.keyboard.press("Escape")
    no_proposal(page)
    expect(page.locator("#canvas .assist .assist-prompt")).to_have_count(0)
    assert state(site, item_id) == before
    assert page.evaluate("window.polylogLabel.store.state.seq") == before["seq"]


def near_the_disc(points: list[list[float]], within: float) -> None:
    distances = [abs(math.dist(p, CENTRE) - RADIUS) for p in points]
    assert len(points) >= 8, points
    assert max(distances) <= within, (max(distances), points)


class InFlight:
    """The page's requests to one assist route: how many, and the most ever on their way at once."""

    def __init__(self, page: Any, tool: str) -> None:
        self.route = f"/assist/{tool}/"
        self.now = self.most = self.count = 0
        page.on("request", self.started)
        page.on("requestfinished", self.ended)
        page.on("requestfailed", self.ended)

    def started(self, request: Any) -> None:
        if self.route in request.url:
            self.count += 1
            self.now += 1
            self.most = max(self.most, self.now)

    def ended(self, request: Any) -> None:
        if self.route in request.url:
            self.now -= 1


def test_scissors_follow_the_disc_and_the_proposal_is_edited_accepted_dropped_and_undone(
    open_page, site, disc_item
):
    item_id = disc_item["id"]
    page = open_page("ann")
    requests = InFlight(page, "scissors")
    open_item(page, site, item_id)
    page.keyboard.press("s")
    expect(page.locator("[data-tool=scissors]")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator("#assist-options [data-option=simplify]")).to_be_visible()

    for degrees in (0, 90, 180):
        click_image(page, *on_circle(degrees))
    expect(page.locator("#canvas .assist .assist-anchor")).to_have_count(3)
    # The live preview from the last anchor follows the border toward the pointer: a path of many points,
    # all of them on the disc's edge, not the straight line across.
    page.mouse.move(*client_point(page, *on_circle(270)), steps=4)
    page.wait_for_function(
        "() => document.querySelector('#canvas .assist .assist-live').points.length > 10"
        " && document.body.dataset.assistBusy === 'false'"
    )
    live = page.evaluate(
        "[...document.querySelector('#canvas .assist .assist-live').points].map(p => [p.x, p.y])"
    )
    near_the_disc(live, within=4)
    picture(page, "scissors-live")
    click_image(page, *on_circle(270))
    click_image(page, *on_circle(0))  # the first anchor closes
    points = proposal(page)
    near_the_disc(points, within=4)
    expect(page.locator("#canvas .assist .assist-anchor")).to_have_count(0)
    assert state(site, item_id)["shapes"] == []  # a proposal writes nothing

    picture(page, "scissors-proposal")
    moved = drag_handle(page, points, 0, (0, -25))
    picture(page, "scissors-edited")
    shape = accepted_with(page, site, item_id, moved)
    assert shape["label_class_id"] == disc_item["job"]["label_classes"][0]["id"]
    undone_whole(page, site, item_id)

    # Another outline, closed by Enter, then dropped: nothing sent.
    for degrees in (45, 165, 285):
        click_image(page, *on_circle(degrees))
    page.keyboard.press("Enter")
    proposal(page)
    dropped(page, site, item_id)
    # The live preview, the stretches clicked and the closes went one at a time: never two in flight.
    assert requests.count >= 5  # previews and stretches, and two closes
    assert requests.most == 1


def test_box_to_polygon_with_marks_edited_accepted_seen_by_a_collaborator_and_undone(
    open_page, site, disc_item
):
    item_id = disc_item["id"]
    page = open_page("ann")
    open_item(page, site, item_id)
    other = open_page("bob")
    open_item(other, site, item_id)
    page.keyboard.press("x")
    expect(page.locator("[data-tool=box_assist]")).to_have_class(re.compile(r"\bactive\b"))

    x0, y0, x1, y1 = BOX
    page.mouse.move(*client_point(page, x0, y0))
    page.mouse.down()
    page.mouse.move(*client_point(page, x1, y1), steps=6)
    page.mouse.up()
    points = proposal(page)
    near_the_disc(points, within=5)

    # Shift+click marks the object, Alt+click the background: each asks again with every mark.
    click_holding(page, "Shift", *CENTRE)
    expect(page.locator('#canvas .assist .assist-prompt[data-label="1"]')).to_have_count(1)
    click_holding(page, "Alt", x0 + 8, y0 + 8)
    expect(page.locator('#canvas .assist .assist-prompt[data-label="0"]')).to_have_count(1)
    points = proposal(page)
    near_the_disc(points, within=5)
    picture(page, "box-marks")

    moved = drag_handle(page, points, 2, (12, 12))
    accepted_with(page, site, item_id, moved)
    expect(shape_rows(other)).to_have_count(1)  # the collaborator sees it as any polygon
    expect(other.locator("#canvas .shape")).to_have_count(1)
    undone_whole(page, site, item_id)
    expect(shape_rows(other)).to_have_count(0)

    page.mouse.move(*client_point(page, x0, y0))
    page.mouse.down()
    page.mouse.move(*client_point(page, x1, y1), steps=6)
    page.mouse.up()
    proposal(page)
    dropped(page, site, item_id)


def test_choosing_the_box_tool_has_the_server_prepare_the_images_regions_ahead(open_page, site, disc_item):
    """The first box on an image need not wait for its regions (~300 ms on a 2 MP photo): the tool asks
    for them when chosen (POST items/<id>/assist/box/prepare/, apps/assist/warm.py)."""
    page = open_page("ann")
    open_item(page, site, disc_item["id"])

    with page.expect_response(lambda response: "/assist/box/prepare/" in response.url) as answer:
        page.keyboard.press("x")

    assert answer.value.status == 202
    assert answer.value.json()["regions"] in ("preparing", "ready")


def test_magic_wand_floods_the_disc_the_sliders_ask_again_and_the_proposal_is_edited_accepted_dropped_undone(
    open_page, site, disc_item
):
    item_id = disc_item["id"]
    page = open_page("ann")
    open_item(page, site, item_id)
    page.keyboard.press("w")
    expect(page.locator("#assist-options [data-option=tolerance]")).to_be_visible()

    click_image(page, *CENTRE)
    points = proposal(page)
    near_the_disc(points, within=3)
    picture(page, "wand")
    expect(page.locator('#canvas .assist .assist-prompt[data-label="1"]')).to_have_count(1)

    # A simpler outline at a larger Simplify: the same click asked again, fewer vertices.
    page.locator("#assist-options input[name=simplify]").fill("6")
    page.wait_for_function(
        f"() => document.querySelectorAll('#canvas .assist .proposal-vertex').length < {len(points)}"
    )
    simpler = proposal(page)
    near_the_disc(simpler, within=8)
    assert page.evaluate("localStorage.getItem('polylog.assist.simplify')") == "6"

    moved = drag_handle(page, simpler, 1, (20, 0))
    accepted_with(page, site, item_id, moved)
    undone_whole(page, site, item_id)

    # The whole picture is within a colour tolerance of 255: the flood reaches the image's border.
    click_image(page, *CENTRE)
    assert len(proposal(page)) >= 8
    page.locator("#assist-options input[name=tolerance]").fill("255")
    page.wait_for_function("() => document.querySelectorAll('#canvas .assist .proposal-vertex').length === 4")
    frame = proposal(page)
    assert all(x in (0, WIDTH) or y in (0, HEIGHT) for x, y in frame), frame
    dropped(page, site, item_id)


def test_an_accepted_proposal_the_server_refuses_comes_back_editable_with_the_refusal_said(
    open_page, site, disc_item
):
    """Enter sends the proposal as an add_polygon; when the server refuses it (here a handle dragged across
    the outline, so that it crosses itself), the refusal is said and the proposal is back as it was sent,
    its handles editable: mended and accepted again, nothing the person did was lost."""
    item_id = disc_item["id"]
    page = open_page("ann")
    open_item(page, site, item_id)
    page.keyboard.press("w")
    page.locator("#assist-options input[name=simplify]").fill("6")  # a few vertices, far apart
    click_image(page, *CENTRE)
    points = proposal(page)
    assert len(points) >= 6, points

    # Vertex 0 dragged through the centre to the far side of the disc: its two edges cross the others.
    vertex = points[0]
    across = (-2.2 * (vertex[0] - CENTRE[0]), -2.2 * (vertex[1] - CENTRE[1]))
    drag_handle(page, points, 0, across)
    bent = proposal(page)
    page.keyboard.press("Enter")
    expect(page.locator(".notice.refusal[data-code=self_intersecting]")).to_be_visible()
    settled(page)
    expect(page.locator("#canvas .assist .proposal-vertex")).to_have_count(len(bent))
    assert proposal(page) == bent  # back as it was sent, not as the server first proposed it
    expect(page.locator("#canvas .assist .proposal")).to_have_class(re.compile(r"\bedited\b"))
    assert state(site, item_id)["shapes"] == []
    expect(shape_rows(page)).to_have_count(0)
    picture(page, "refused-and-restored")

    # Mended (the vertex dragged back), Enter accepts it: the server holds it.
    mended = drag_handle(page, bent, 0, (-across[0], -across[1]))
    accepted_with(page, site, item_id, mended)
    undone_whole(page, site, item_id)


def test_the_model_tool_proposes_what_the_model_server_answers(open_page, site, disc_item):
    item_id = disc_item["id"]
    page = open_page("ann")
    open_item(page, site, item_id)
    page.keyboard.press("q")
    expect(page.locator("[data-tool=model]")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator("#assist-options")).to_be_hidden()  # the model tool has no slider

    # A box: the fake model answers the box's inscribed diamond.
    x0, y0, x1, y1 = BOX
    page.mouse.move(*client_point(page, x0, y0))
    page.mouse.down()
    page.mouse.move(*client_point(page, x1, y1), steps=6)
    page.mouse.up()
    points = proposal(page)
    diamond = [[(x0 + x1) / 2, y0], [x1, (y0 + y1) / 2], [(x0 + x1) / 2, y1], [x0, (y0 + y1) / 2]]
    assert len(points) == 4
    assert all(math.dist(p, q) < 0.5 for p, q in zip(points, diamond, strict=True)), points
    # Points go with the box (green: the object, red: the background; Backspace takes the last back).
    click_image(page, *CENTRE)
    click_holding(page, "Alt", x0 + 8, y0 + 8)
    expect(page.locator("#canvas .assist .assist-prompt")).to_have_count(2)
    page.keyboard.press("Backspace")
    expect(page.locator("#canvas .assist .assist-prompt")).to_have_count(1)
    points = proposal(page)
    picture(page, "model")

    moved = drag_handle(page, points, 1, (-30, 10))
    accepted_with(page, site, item_id, moved)
    undone_whole(page, site, item_id)

    click_image(page, *CENTRE)  # a point alone: the fake model's square around it
    assert len(proposal(page)) == 4
    dropped(page, site, item_id)


def test_a_refusal_of_the_server_is_said_in_the_notification_area_and_nothing_is_proposed(
    open_page, site, disc_item
):
    item_id = disc_item["id"]
    page = open_page("ann")
    open_item(page, site, item_id)
    page.keyboard.press("x")
    # A box on the plain background: GrabCut finds nothing there (422 no_proposal), said in words.
    page.mouse.move(*client_point(page, 20, 20))
    page.mouse.down()
    page.mouse.move(*client_point(page, 150, 90), steps=6)
    page.mouse.up()
    notice = page.locator(".notice.refusal[data-code=no_proposal]")
    expect(notice).to_be_visible()
    expect(notice.locator(".text")).to_have_text("Nothing stands out from its surroundings in this box.")
    expect(page.locator("body")).to_have_attribute("data-assist-busy", "false")
    no_proposal(page)

    # The scissors say what they need before asking anything.
    page.keyboard.press("s")
    click_image(page, *on_circle(0))
    page.keyboard.press("Enter")
    expect(page.locator(".notice.refusal[data-code=too_few_anchors]")).to_be_visible()
    assert state(site, item_id)["shapes"] == []


def test_an_auditor_has_the_assisted_tools_disabled_and_their_keys_do_nothing(open_page, site, disc_item):
    site.api().post(f"/api/jobs/{disc_item['job']['id']}/members/", {"username": "bob", "role": "auditor"})
    page = open_page("bob")
    open_item(page, site, disc_item["id"])
    for name in ("Scissors tool", "Box tool: box to polygon", "Magic wand tool", "Model tool"):
        expect(page.get_by_role("button", name=name)).to_be_disabled()
    for key in ("s", "x", "w", "q"):
        page.keyboard.press(key)
        expect(page.locator("#stage")).to_have_class("stage mode-edit")
    expect(page.locator("#assist-options")).to_be_hidden()
    click_image(page, *CENTRE)
    no_proposal(page)
