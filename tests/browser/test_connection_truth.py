"""Issue 20, point 6: the connection's truth. With the network cut in the middle of a polygon, the page
keeps drawing, and within a few seconds its status says it is offline and how many changes wait; back
online it stores them (each once) and says "live" again only then. Leaving while changes wait asks."""

from __future__ import annotations

import re

import pytest

from .helpers import click_image, expect, open_item, settled

pytestmark = pytest.mark.browser


def events_of(site, item_id):
    return site.api().get(f"/api/items/{item_id}/events/")


def test_a_cut_network_is_told_with_the_changes_waiting_and_every_change_is_stored_once(
    open_page, site, new_job
):
    item = new_job()["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    conn = page.locator("#conn")
    expect(conn).to_have_text("live")

    click_image(page, 100, 100)
    click_image(page, 300, 100)
    settled(page)
    page.context.set_offline(True)
    click_image(page, 300, 300)
    click_image(page, 100, 300)
    click_image(page, 100, 100)  # closes the polygon: three commands wait

    # The heartbeat finds the silence (a ping every 2 s, lost after 5 s without a word).
    expect(conn).to_have_text(re.compile(r"^offline - \d+ changes waiting$"), timeout=15_000)
    waiting = int(conn.text_content().split()[2])
    assert waiting >= 3  # two vertices and the close, sent while the network was cut
    assert waiting == int(page.locator("body").get_attribute("data-pending"))  # every one of them told
    expect(conn).to_have_class(re.compile(r"\boff\b"))
    expect(page.locator("body")).to_have_attribute("data-live", "false")
    assert page.locator("#canvas .shape").count() == 1  # drawn here, waiting for the server

    page.context.set_offline(False)
    expect(conn).to_have_text("live", timeout=20_000)
    settled(page)
    stored = events_of(site, item["id"])
    events = stored["results"] if isinstance(stored, dict) else stored
    kinds = [e["type"] for e in events]
    assert kinds == ["vertex_added", "vertex_added", "vertex_added", "vertex_added", "polygon_closed"]
    [shape] = site.api().get(f"/api/items/{item['id']}/state/")["shapes"]
    assert len(shape["points"]) == 4


def test_leaving_while_changes_wait_asks(open_page, site, new_job):
    item = new_job()["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.context.set_offline(True)
    click_image(page, 100, 100)
    expect(page.locator("#conn")).to_have_text("offline - 1 change waiting", timeout=15_000)

    page.locator("#back").click()
    dialog = page.get_by_role("dialog", name="Save?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    assert f"/items/{item['id']}/" in page.url
    page.context.set_offline(False)
    expect(page.locator("#conn")).to_have_text("live", timeout=20_000)
    settled(page)
