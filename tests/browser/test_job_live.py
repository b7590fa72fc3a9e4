"""The job page follows the job socket: when someone saves a label, counts and tabs change without a
reload."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from .helpers import api_square, draw_polygon, expect, label_id, open_item

pytestmark = pytest.mark.browser


def test_counts_follow_a_save_made_in_another_browser(open_page, site, new_job):
    job = new_job()
    total = len(job["items"])
    watcher = open_page("demo")
    watcher.goto(site.url(f"/jobs/{job['id']}/"))
    expect(watcher.locator("#live-status")).to_have_text("live")
    expect(watcher.locator('[data-count="labeled"]')).to_have_text("(0)")

    labeler = open_page("ann")
    item = job["items"][0]
    open_item(labeler, site, item["id"])
    draw_polygon(labeler, [(60, 60), (200, 60), (120, 200)], label="cat")
    labeler.keyboard.press("Control+s")

    expect(watcher.locator('[data-count="labeled"]')).to_have_text("(1)")
    expect(watcher.locator('[data-count="unlabeled"]')).to_have_text(f"({total - 1})")
    cat = next(c for c in job["label_classes"] if c["name"] == "cat")
    expect(watcher.locator(f'[data-label-class-id="{cat["id"]}"] .label-count')).to_have_text("1 image")
    expect(watcher.locator(f'#grid .tile[data-item-id="{item["id"]}"]')).to_have_count(0)  # left Unlabeled


def tile(page: Any, item_id: int) -> Any:
    return page.locator(f'#grid .tile[data-item-id="{item_id}"]')


def test_a_change_made_while_the_grid_is_read_is_not_undone_by_that_read(open_page, site, new_job):
    """The grid's list is read before a shape is added to an image, and answered after the image's item
    frame came: the tile must end with the frame's state, not the older list's (whose answer replaces
    every tile; nothing after it would correct the tile until the image changed again)."""
    job = new_job()
    first = job["items"][0]["id"]
    cat = label_id(job, "cat")
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(page.locator("#live-status")).to_have_text("live")
    expect(tile(page, first).locator(".shapes")).to_have_text("No shapes")
    held: list[tuple[Any, Any]] = []

    def read_then_draw(route: Any) -> None:
        if held:  # a later read goes through
            route.continue_()
            return
        held.append((route, route.fetch()))  # the list as it is before the shape
        api_square(site, first, cat, 20, 20, 60)

    page.route(f"**/api/jobs/{job['id']}/items/?*", read_then_draw)
    page.get_by_role("tab", name="All statuses").click()  # a read; the image stays in the tab
    expect(tile(page, first).locator(".shapes")).to_have_text("1 shape")  # the frame, during the read
    route, older = held[0]
    route.fulfill(response=older)

    expect(page.locator("#grid")).to_have_attribute("data-state", "ready")
    expect(tile(page, first).locator(".shapes")).to_have_text("1 shape")
    expect(tile(page, first).locator("img.overlay")).to_have_attribute("src", re.compile(r"[?&]seq=1&"))


def test_an_item_frame_older_than_the_tile_leaves_it_as_it_is(open_page, site, new_job):
    """Two commands' frames can reach the page after a list read that already holds the second: the
    first, older than the tile (by seq), must not take the tile back."""
    job = new_job()
    first, second = job["items"][0]["id"], job["items"][1]["id"]
    cat = label_id(job, "cat")
    api_square(site, first, cat, 20, 20, 60)
    api_square(site, first, cat, 100, 100, 60)
    sockets: list[Any] = []

    def route(ws: Any) -> None:
        ws.connect_to_server()  # frames pass both ways as they are; the test adds frames of its own
        sockets.append(ws)

    page = open_page("demo")
    page.route_web_socket(re.compile(r"/ws/jobs/"), route)
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(page.locator("#live-status")).to_have_text("live")
    expect(tile(page, first).locator(".shapes")).to_have_text("2 shapes")
    row = {"status": "unlabeled", "label_class_ids": [cat], "hard_example": False}

    sockets[0].send(json.dumps({"type": "item", "item": {"id": first, "seq": 1, "shape_count": 1, **row}}))
    # A newer frame of another image after it: once its tile shows it, the older frame has been read.
    sockets[0].send(json.dumps({"type": "item", "item": {"id": second, "seq": 1, "shape_count": 1, **row}}))

    expect(tile(page, second).locator(".shapes")).to_have_text("1 shape")
    expect(tile(page, first).locator(".shapes")).to_have_text("2 shapes")
    expect(tile(page, first).locator("img.overlay")).to_have_attribute("src", re.compile(r"[?&]seq=2&"))


def test_a_selected_image_someone_saves_into_another_tab_is_no_longer_selected(open_page, site, new_job):
    """A manager selects an image on the Unlabeled tab; an annotator saves a shape on it meanwhile, and the
    grid reloads without it. Delete must not still count it: it would delete an image the manager no
    longer sees, with the annotator's work."""
    job = new_job()
    first, second = job["items"][0], job["items"][1]
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(page.locator("#live-status")).to_have_text("live")
    page.get_by_label(f"Select {first['image']['name']}").check()
    page.get_by_label(f"Select {second['image']['name']}").check()
    expect(page.locator("#selection-count")).to_have_text("2 selected")

    ann = site.api("ann")
    points = [[20, 20], [80, 20], [80, 80], [20, 80]]
    command = {"type": "add_polygon", "shape_id": str(uuid.uuid4()), "label_class_id": label_id(job, "cat")}
    ann.command(first["id"], {**command, "points": points})
    ann.command(first["id"], {"type": "save"})

    expect(tile(page, first["id"])).to_have_count(0)
    expect(page.locator("#selection-count")).to_have_text("1 selected")
    page.locator("#delete-images").click()
    expect(page.locator("#delete-dialog .summary")).to_have_text("Delete 1 selected image from this job?")
