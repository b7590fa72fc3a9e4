"""Collaboration: two people on one image in two browser contexts; one's drawing, cursor and presence
show in the other's page within a second."""

from __future__ import annotations

import pytest

from .helpers import choose_label, click_image, client_point, expect, open_item, settled, shape_rows

pytestmark = pytest.mark.browser

LIVE_MS = 1000


def test_a_drawing_its_cursor_and_presence_appear_in_the_other_page(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    watcher = open_page("demo")
    open_item(watcher, site, item["id"])
    drawer = open_page("ann")
    open_item(drawer, site, item["id"])

    expect(watcher.locator("#presence [data-user=ann]")).to_be_visible(timeout=LIVE_MS)
    expect(drawer.locator("#presence [data-user=demo]")).to_be_visible(timeout=LIVE_MS)

    drawer.mouse.move(*client_point(drawer, 320, 240))
    expect(watcher.locator("#canvas .cursor[data-user=ann]")).to_be_visible(timeout=LIVE_MS)

    click_image(drawer, 100, 100)
    expect(watcher.locator("#canvas .draft.others .vertex")).to_have_count(1, timeout=LIVE_MS)
    click_image(drawer, 300, 100)
    click_image(drawer, 200, 300)
    expect(watcher.locator("#canvas .draft.others .vertex")).to_have_count(3, timeout=LIVE_MS)

    choose_label(drawer, "bird")
    click_image(drawer, 100, 100)
    settled(drawer)
    expect(shape_rows(watcher)).to_have_count(1, timeout=LIVE_MS)
    expect(shape_rows(watcher).first).to_contain_text("bird")
    expect(watcher.locator("#canvas .draft")).to_have_count(0)

    drawer.close()
    expect(watcher.locator("#presence [data-user=ann]")).to_have_count(0, timeout=LIVE_MS * 3)
    expect(watcher.locator("#canvas .cursor[data-user=ann]")).to_have_count(0)
