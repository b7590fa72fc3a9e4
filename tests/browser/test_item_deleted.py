"""An image deleted from its job while someone has it open: the labeling page says so plainly (who deleted
it, when, what is kept) in a banner that stays, turns its tools off and sends no more commands; a page that
opens the deleted image later is told the same after its catch-up."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from .helpers import draw_polygon, expect, open_item, settled, shape_rows

pytestmark = pytest.mark.browser

LIVE_MS = 3000


def commands_sent(page) -> list[dict]:
    """Every command frame the page's sockets send from now on."""
    frames: list[dict] = []

    def on_socket(socket) -> None:
        def sent(payload) -> None:
            frame = json.loads(payload) if isinstance(payload, str) else {}
            if frame.get("type") == "command":
                frames.append(frame)

        socket.on("framesent", sent)

    page.on("websocket", on_socket)
    return frames


def test_an_image_deleted_while_open_says_who_deleted_it_and_stops_sending(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("ann")
    frames = commands_sent(page)
    open_item(page, site, item["id"])
    draw_polygon(page, [(100, 100), (300, 100), (200, 300)], label="cat")
    settled(page)
    expect(shape_rows(page)).to_have_count(1)

    site.api().post("/api/items/delete/", {"item_ids": [item["id"]]})

    banner = page.locator("#deleted-banner")
    expect(banner).to_be_visible(timeout=LIVE_MS)
    expect(banner).to_contain_text("This image was deleted from the job by demo at ")
    expect(banner).to_contain_text("Nothing more can be drawn or changed here.")
    expect(banner).to_contain_text("What was stored before the deletion stays in its history")
    expect(page.locator("body")).to_have_attribute("data-deleted", "true")
    expect(page.locator("[data-tool=draw_polygon]")).to_be_disabled()
    expect(page.locator("#save")).to_be_disabled()
    expect(shape_rows(page)).to_have_count(1)  # what was stored is still shown

    # Undo and Delete all: refused in the page, nothing sent.
    before = len(frames)
    page.keyboard.press("Control+z")
    expect(page.locator(".refusal[data-code=item_deleted]")).to_contain_text("was deleted from the job")
    shape_rows(page).first.click()
    page.keyboard.press("Delete")
    page.wait_for_timeout(300)  # a frame sent would be seen by now
    assert len(frames) == before
    expect(shape_rows(page)).to_have_count(1)
    # Leaving asks nothing: there is nothing that could still be saved.
    page.locator("#back").click()
    expect(page).to_have_url(site.url(f"/jobs/{job['id']}/"))


def test_a_page_opened_on_a_deleted_image_is_told_who_deleted_it(open_page, site, new_job):
    job = new_job()
    item = job["items"][1]
    site.api().post("/api/items/delete/", {"item_ids": [item["id"]]})

    page = open_page("ann")
    open_item(page, site, item["id"])

    expect(page.locator("#deleted-banner")).to_contain_text("deleted from the job by demo")
    expect(page.locator("[data-tool=draw_polygon]")).to_be_disabled()


def test_the_delete_dialog_names_who_has_a_selected_image_open_and_they_are_told(open_page, site, new_job):
    job = new_job()
    item, other = job["items"][0], job["items"][1]
    annotator = open_page("ann")
    open_item(annotator, site, item["id"])
    manager = open_page("demo")
    manager.goto(site.url(f"/jobs/{job['id']}/"))
    expect(manager.locator("#live-status")).to_have_text("live")
    manager.get_by_label(f"Select {item['image']['name']}").check()
    manager.get_by_label(f"Select {other['image']['name']}").check()

    manager.locator("#delete-images").click()

    dialog = manager.locator("#delete-dialog")
    warning = dialog.locator(".open-now")
    expect(warning).to_contain_text("One of these images is open now:")
    expect(warning.locator("li")).to_have_text(f"{item['image']['name']}: ann")
    expect(warning).to_contain_text("told at once that you deleted it")
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_be_hidden()
    expect(annotator.locator("#deleted-banner")).to_contain_text(
        "deleted from the job by demo", timeout=LIVE_MS
    )


def test_the_delete_dialog_says_nothing_more_when_nobody_has_the_images_open(open_page, site, new_job):
    job = new_job()
    manager = open_page("demo")
    manager.goto(site.url(f"/jobs/{job['id']}/"))
    expect(manager.locator("#live-status")).to_have_text("live")
    manager.get_by_label(f"Select {job['items'][0]['image']['name']}").check()
    with manager.expect_response(lambda r: "/presence/" in r.url) as answer:
        manager.locator("#delete-images").click()
    assert answer.value.json() == {"items": []}
    expect(manager.locator("#delete-dialog .open-now")).to_be_hidden()


def test_changes_still_on_their_way_when_the_image_is_deleted_are_counted_as_not_kept(
    open_page, site, new_job
):
    """A command of mine that has not reached the server when the deletion commits is refused
    item_deleted once it arrives: the page takes it back and the banner says how many were not kept.
    (The command frames are held back on their way to the server, then let through after the deletion.)"""
    job = new_job()
    item = job["items"][2]
    page = open_page("ann")
    held: list[str] = []
    sockets: list = []
    holding = {"on": False}

    def route(socket) -> None:
        server = socket.connect_to_server()
        sockets.append(server)

        def from_page(message) -> None:
            # Commands are held from when drawing starts until the deletion has committed; after it,
            # they go on as they come.
            if holding["on"] and '"type": "command"' in message.replace('":"', '": "'):
                held.append(message)
            else:
                server.send(message)

        socket.on_message(from_page)

    page.route_web_socket(re.compile(r"/ws/items/"), route)
    open_item(page, site, item["id"])
    holding["on"] = True
    draw_polygon(page, [(100, 100), (300, 100), (200, 300)], label="cat")
    expect(shape_rows(page)).to_have_count(1)  # drawn in the page, not stored

    site.api().post("/api/items/delete/", {"item_ids": [item["id"]]})  # answered once committed
    holding["on"] = False
    for message in held:  # three vertices and the close, those that reached the route by now
        sockets[-1].send(message)
    banner = page.locator("#deleted-banner")
    expect(banner).to_contain_text("deleted from the job by demo", timeout=LIVE_MS)

    expect(banner).to_have_attribute("data-lost", "4")
    expect(banner).to_contain_text(
        "4 changes of yours had not reached the server before the deletion: they were not kept and are"
        " taken back from the image."
    )
    expect(shape_rows(page)).to_have_count(0)
    assert site.api().get(f"/api/items/{item['id']}/state/")["shapes"] == []


def _waiting_for_review(site, new_job, index: int) -> dict:
    """An image of a new job labeled by ann (annotator) and saved, so that bob (reviewer) may accept or
    reject it: its review bar's buttons are on."""
    job = new_job(members=())
    for username, role in (("ann", "annotator"), ("bob", "reviewer")):
        site.api().post(f"/api/jobs/{job['id']}/members/", {"username": username, "role": role})
    item = job["items"][index]
    cat = job["label_classes"][0]["id"]
    api = site.api("ann")
    points = [[100, 100], [220, 100], [220, 220], [100, 220]]
    api.command(
        item["id"],
        {"type": "add_polygon", "shape_id": str(uuid.uuid4()), "label_class_id": cat, "points": points},
    )
    api.command(item["id"], {"type": "save"})
    return item


# Two animation frames: the page's redraw asked for before this has run.
AFTER_REDRAW = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def test_the_review_bar_stays_off_when_it_redraws_after_the_deletion(open_page, site, new_job):
    """The deletion turns the issue tool off (only looking is left), which redraws the review bar on the
    next frame: its Accept and Reject stay off, and nothing is sent."""
    item = _waiting_for_review(site, new_job, 0)
    reviewer = open_page("bob")
    frames = commands_sent(reviewer)
    open_item(reviewer, site, item["id"])
    accept = reviewer.locator(".review-bar button.accept")
    reject = reviewer.locator(".review-bar button.reject")
    expect(accept).to_be_enabled()
    reviewer.keyboard.press("c")
    expect(reviewer.locator("#stage")).to_have_class("stage mode-issue")

    site.api().post("/api/items/delete/", {"item_ids": [item["id"]]})

    expect(reviewer.locator("#deleted-banner")).to_be_visible(timeout=LIVE_MS)
    expect(reviewer.locator("#stage")).to_have_class("stage mode-edit")
    reviewer.evaluate(AFTER_REDRAW)
    expect(accept).to_be_disabled()
    expect(reject).to_be_disabled()
    expect(accept).to_have_attribute("title", "This image was deleted from the job")
    # A later frame (the view zoomed) redraws it again: still off.
    reviewer.keyboard.press("+")
    reviewer.evaluate(AFTER_REDRAW)
    expect(accept).to_be_disabled()
    expect(reject).to_be_disabled()
    assert frames == []


def test_an_issue_thread_open_when_the_image_is_deleted_is_read_not_answered(open_page, site, new_job):
    """ann reads bob's issue in its thread when the image is deleted: the comment field, Comment and
    Resolve turn off (they would only be refused in the page), the thread stays readable."""
    item = _waiting_for_review(site, new_job, 2)
    issue = {"type": "open_issue", "issue_id": str(uuid.uuid4()), "x": 400, "y": 300, "shape_id": None}
    site.api("bob").command(item["id"], {**issue, "text": "A dog?"})
    annotator = open_page("ann")
    frames = commands_sent(annotator)
    open_item(annotator, site, item["id"])
    annotator.locator("#issue-list .issue-row").click()
    thread = annotator.locator(".issue-thread")
    expect(thread.locator(".issue-actions button.resolve")).to_be_enabled()
    expect(thread.get_by_label("Comment")).to_be_enabled()

    site.api().post("/api/items/delete/", {"item_ids": [item["id"]]})

    expect(annotator.locator("#deleted-banner")).to_be_visible(timeout=LIVE_MS)
    expect(thread.locator(".issue-text")).to_have_text("A dog?")
    expect(thread.get_by_label("Comment")).to_be_disabled()
    expect(thread.locator(".issue-actions button.comment")).to_be_disabled()
    expect(thread.locator(".issue-actions button.resolve")).to_be_disabled()
    expect(thread.locator(".issue-actions button.resolve")).to_have_attribute(
        "title", "This image was deleted from the job"
    )
    assert frames == []
