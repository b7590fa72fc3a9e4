"""Messages people understand (issue 17, point 7): shapes numbered #1, #2 ... on the image and in File
Labels; one notification area (newest first, at most three, kept while hovered); refusals and others'
changes to what you are editing said with people's names, labels and numbers, once, never as codes or ids."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from .helpers import (
    api_square,
    choose_label,
    click_image,
    client_point,
    drag,
    draw_polygon,
    expect,
    label_id,
    open_item,
    settled,
    shape_rows,
)

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # unknown_shape, nothing_to_undo, ...


def notices(page):
    return page.locator("#notices .notice")


def assert_plain(text: str) -> None:
    """A message people read: no id, no machine code."""
    assert not UUID.search(text), text
    assert not CODE.search(text), text


def square_for_ann(site, new_job):
    """A new job's first image with one dog square drawn by demo (#1), opened by ann in the edit tool."""
    job = new_job()
    item = job["items"][0]
    shape_id = api_square(site, item["id"], label_id(job, "dog"), 100, 100, 120)
    return job, item, shape_id


def test_a_shape_deleted_while_you_drag_it_is_told_once_with_who_and_its_number(open_page, site, new_job):
    job, item, shape_id = square_for_ann(site, new_job)
    ann = open_page("ann")
    open_item(ann, site, item["id"])
    bob = open_page("bob")
    open_item(bob, site, item["id"])
    expect(ann.locator("#presence [data-user=bob]")).to_be_visible()
    ann.keyboard.press("e")

    # ann presses on the square and drags it, not released yet; bob deletes it meanwhile.
    ann.mouse.move(*client_point(ann, 160, 160))
    ann.mouse.down()
    ann.mouse.move(*client_point(ann, 200, 190), steps=5)
    bob.locator(f'#shape-list [data-shape-id="{shape_id}"] button.delete').click()

    expect(notices(ann)).to_have_count(1)
    expect(notices(ann).first).to_have_text("bob deleted dog #1 while you were moving it.")
    ann.mouse.up()
    settled(ann)
    expect(shape_rows(ann)).to_have_count(0)
    expect(notices(ann)).to_have_count(1)  # releasing the drag sends nothing: no second message
    assert_plain(notices(ann).first.inner_text())


def hold_deletions_until_a_refusal(page) -> None:
    """Let this page's item socket pass a `rejected` frame before the `shape_deleted` event that caused
    it (as happens when the two come on different channels): from that event on, every server frame but
    `rejected` waits, and goes on, in order, right after the first `rejected`."""
    held: list[str] = []
    state = {"holding": False}

    def route(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(message))

        def from_server(message):
            frame = json.loads(message)
            deletion = frame.get("type") == "event" and frame["event"]["type"] == "shape_deleted"
            if deletion and not held:
                state["holding"] = True
            if state["holding"] and frame.get("type") != "rejected":
                held.append(message)
                return
            ws.send(message)
            if frame.get("type") == "rejected" and state["holding"]:
                state["holding"] = False
                for waiting in held:
                    ws.send(waiting)

        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/items/"), route)


def test_a_refusal_that_comes_before_the_deletion_event_is_one_message_naming_who(open_page, site, new_job):
    job, item, shape_id = square_for_ann(site, new_job)
    ann = open_page("ann")
    hold_deletions_until_a_refusal(ann)
    open_item(ann, site, item["id"])
    ann.keyboard.press("e")
    click_image(ann, 160, 160)
    expect(ann.locator("#canvas .shape.selected")).to_have_count(1)

    # bob (not on the page: his name comes from the events API) deletes it; ann's page does not know yet
    # and moves it: the server refuses, and the refusal reaches ann before bob's event.
    site.api("bob").command(item["id"], {"type": "delete_shape", "shape_id": shape_id})
    ann.mouse.move(*client_point(ann, 160, 160))
    ann.mouse.down()
    ann.mouse.move(*client_point(ann, 200, 190), steps=5)
    ann.mouse.up()

    refusal = ann.locator("#notices .refusal[data-code=unknown_shape]")
    expect(refusal).to_have_text("bob deleted dog #1 while you were moving it.")
    settled(ann)
    expect(shape_rows(ann)).to_have_count(0)
    expect(notices(ann)).to_have_count(1)
    assert_plain(refusal.inner_text())


def test_others_undo_and_moves_of_the_shape_you_selected_are_told_by_name(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    bob_api = site.api("bob")
    api_square(site, item["id"], label_id(job, "cat"), 300, 100, 80)  # #1, demo's
    shape_id = str(uuid.uuid4())
    points = [[100, 100], [220, 100], [220, 220], [100, 220]]
    command = {
        "type": "add_polygon",
        "shape_id": shape_id,
        "label_class_id": label_id(job, "dog"),
        "points": points,
    }
    bob_api.command(item["id"], command)  # #2, bob's
    ann = open_page("ann")
    open_item(ann, site, item["id"])
    ann.keyboard.press("e")
    click_image(ann, 160, 160)
    expect(ann.locator("#canvas .shape.selected")).to_have_attribute("data-number", "2")

    bob_api.command(item["id"], {"type": "move_shape", "shape_id": shape_id, "dx": 10, "dy": 0})
    expect(notices(ann).first).to_have_text("bob moved dog #2, which you have selected.")
    bob_api.command(item["id"], {"type": "undo"})  # takes the move back: a change
    expect(notices(ann).first).to_have_text("bob's undo changed dog #2, which you have selected.")
    bob_api.command(item["id"], {"type": "undo"})  # takes the polygon away
    expect(notices(ann).first).to_have_text("bob's undo removed dog #2, which you had selected.")
    expect(notices(ann)).to_have_count(3)
    expect(shape_rows(ann)).to_have_count(1)
    for text in notices(ann).all_inner_texts():
        assert_plain(text)


def test_your_undo_that_leaves_a_shape_alone_says_who_changed_it(open_page, site, new_job):
    job, item, shape_id = square_for_ann(site, new_job)
    ann = open_page("ann")
    open_item(ann, site, item["id"])
    ann.keyboard.press("e")
    click_image(ann, 160, 160)
    drag(ann, (160, 160), (180, 170))  # ann's action: a move
    settled(ann)
    site.api("bob").command(item["id"], {"type": "move_shape", "shape_id": shape_id, "dx": 5, "dy": 5})
    expect(notices(ann).first).to_have_text("bob moved dog #1, which you have selected.")

    ann.keyboard.press("Control+z")  # bob moved it since: ann's undo leaves it as it is, and says why
    expect(notices(ann).first).to_have_text("Your undo left dog #1 as it is: bob changed it since.")
    assert_plain(notices(ann).first.inner_text())


def test_numbers_on_the_image_and_in_file_labels_follow_creation_and_survive_delete_and_undo(
    open_page, site, new_job
):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    draw_polygon(page, [(60, 60), (160, 60), (110, 140)], label="cat")
    draw_polygon(page, [(220, 60), (320, 60), (270, 140)], label="dog")
    choose_label(page, "bird")
    click_image(page, 380, 60)
    expect(page.locator("#canvas .draft.mine .number-tag")).to_have_text("#3")  # a draft has its number
    click_image(page, 480, 60)
    click_image(page, 430, 140)
    click_image(page, 380, 60)
    settled(page)

    def numbers_match(expected: list[str]) -> dict[str, str]:
        """The File Labels numbers are `expected`, and each row's number is its shape's tag on the image."""
        expect(shape_rows(page).locator(".number")).to_have_text(expected)
        rows = {}
        for row in shape_rows(page).all():
            shape_id = row.get_attribute("data-shape-id")
            number = row.locator(".number").inner_text()
            expect(page.locator(f'#canvas .shape[data-shape-id="{shape_id}"] .number-tag')).to_have_text(
                number
            )
            rows[number] = shape_id
        return rows

    first = numbers_match(["#1", "#2", "#3"])
    expect(shape_rows(page)).to_contain_text(["cat", "dog", "bird"])

    shape_rows(page).first.click()  # selects #1 in the edit tool
    page.keyboard.press("Delete")
    settled(page)
    after_delete = numbers_match(["#2", "#3"])
    assert after_delete == {"#2": first["#2"], "#3": first["#3"]}

    page.keyboard.press("Control+z")  # #1 comes back with its own number, #2 stays #2
    expect(shape_rows(page)).to_have_count(3)
    assert numbers_match(["#1", "#2", "#3"]) == first

    page.keyboard.press("d")
    draw_polygon(page, [(60, 250), (160, 250), (110, 330)], label="cat")  # numbers are never given twice
    settled(page)
    shown = numbers_match(["#1", "#2", "#3", "#4"])
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert {f"#{s['number']}": s["id"] for s in state["shapes"]} == shown  # the server's numbers


def test_the_notification_area_holds_three_newest_first_once_each_and_keeps_them_while_hovered(
    open_page, site, new_job
):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    page.clock.install()
    open_item(page, site, item["id"])

    page.keyboard.press("Control+z")  # nothing to undo (the server's refusal)
    expect(page.locator(".refusal[data-code=nothing_to_undo]")).to_be_visible()
    page.keyboard.press("r")  # nothing selected to reset
    page.keyboard.press("h")  # nothing selected to hide
    expect(notices(page)).to_have_count(3)
    click_image(page, -40, 100)  # far outside the image: a fourth; the oldest goes
    expect(notices(page)).to_have_count(3)
    expect(notices(page).first).to_have_attribute("data-code", "outside_image")
    expect(page.locator(".refusal[data-code=nothing_to_undo]")).to_have_count(0)
    texts = notices(page).all_inner_texts()
    assert texts[1].startswith("Select a shape to hide") and texts[2].startswith("Select a shape to reset"), (
        texts
    )

    page.keyboard.press("r")  # the same message again: the one on screen comes back to the top
    expect(notices(page)).to_have_count(3)
    expect(notices(page).first).to_contain_text("Select a shape to reset")
    expect(notices(page).filter(has_text="Select a shape to reset")).to_have_count(1)
    for text in notices(page).all_inner_texts():
        assert_plain(text)

    # Hovered, they stay however long it takes to read them; once the pointer leaves they fade and go.
    page.locator("#notices .notice").nth(1).hover()
    page.clock.run_for(60_000)
    expect(notices(page)).to_have_count(3)
    page.mouse.move(*client_point(page, 300, 200))
    page.clock.run_for(60_000)
    expect(notices(page)).to_have_count(0)


def test_a_refusal_of_a_shape_the_page_never_knew_shows_no_id(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    unknown = str(uuid.uuid4())
    page.evaluate(
        "(id) => window.polylogLabel.ctx.send({ type: 'move_shape', shape_id: id, dx: 5, dy: 5 })", unknown
    )
    refusal = page.locator(".refusal[data-code=unknown_shape]")
    expect(refusal).to_have_text("That shape is no longer on the image: someone removed it.")
    assert_plain(refusal.inner_text())


def fail_the_first_command(page) -> None:
    """This page's item socket answers the first command it sends with the server's internal_error (as an
    unexpected failure of the server would), without passing it on; the page's later frames pass."""
    commands = []

    def route(ws):
        server = ws.connect_to_server()

        def from_page(message):
            frame = json.loads(message)
            if frame.get("type") == "command":
                commands.append(frame)
                if len(commands) == 1:
                    failed = {"type": "error", "code": "internal_error", "command_id": frame["command_id"]}
                    failed["message"] = "The server failed to handle this frame; it has been logged."
                    ws.send(json.dumps(failed))
                    return
            server.send(message)

        ws.on_message(from_page)
        server.on_message(lambda message: ws.send(message))

    page.route_web_socket(re.compile(r"/ws/items/"), route)


def test_a_command_the_server_failed_on_is_taken_back_and_said_and_the_page_goes_on(open_page, site, new_job):
    """Before, the failure was a notice and the command waited for an ack for ever ("storing"), and was
    sent again at the next reconnect, after the commands that followed it."""
    job = new_job()
    item = job["items"][0]
    shape_id = api_square(site, item["id"], label_id(job, "cat"), 100, 100, 80)
    page = open_page("demo")
    fail_the_first_command(page)
    open_item(page, site, item["id"])
    outline = page.locator("#canvas .shape polygon").first
    page.keyboard.press("e")
    click_image(page, 140, 140)
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)
    before = outline.get_attribute("points")

    drag(page, (140, 140), (200, 190))

    failure = page.locator("#notices .notice", has_text="failed")
    expect(failure).to_have_count(1)
    assert_plain(failure.inner_text())
    settled(page)
    expect(outline).to_have_attribute("points", before)
    expect(page.locator("#conn")).to_have_text("live")
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["seq"] == 1, "nothing of the failed move was stored"

    drag(page, (140, 140), (200, 190))  # the next command goes through
    settled(page)
    moved = site.api().get(f"/api/items/{item['id']}/state/")
    assert moved["seq"] == 2
    assert [s["id"] for s in moved["shapes"]] == [shape_id]
    assert moved["shapes"][0]["points"] != state["shapes"][0]["points"]
