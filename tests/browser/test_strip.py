"""The bottom strip and N / P: the strip marks the current image and lists the unlabeled images after it
first and the labeled ones last; N opens the next unlabeled image (asking first when I changed something),
P the previous image in the job's order."""

from __future__ import annotations

import re

import pytest

from .helpers import api_square, click_image, expect, open_item

pytestmark = pytest.mark.browser


def strip_ready(page, item):
    expect(page.locator("body")).to_have_attribute("data-live", "true")
    expect(page.locator("body")).to_have_attribute("data-strip", "ready")
    current = page.locator("#strip a.current")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("data-item-id", str(item["id"]))
    expect(page.locator("#file-name")).to_have_text(item["image"]["name"])


def test_n_opens_the_next_image_and_p_the_previous_and_the_strip_marks_the_current(open_page, site, new_job):
    job = new_job()
    items = job["items"]
    cat = job["label_classes"][0]["id"]
    # items[2] is labeled: the strip puts it last and N skips it.
    api_square(site, items[2]["id"], cat, 50, 50, 40)
    site.api().command(items[2]["id"], {"type": "save"})

    page = open_page("demo")
    open_item(page, site, items[0]["id"])
    strip_ready(page, items[0])
    ids = [int(i) for i in page.locator("#strip a").evaluate_all("els => els.map(a => a.dataset.itemId)")]
    assert ids[0] == items[0]["id"]
    assert ids[1:3] == [items[1]["id"], items[3]["id"]]
    assert ids[-1] == items[2]["id"]
    expect(page.locator(f'#strip a[data-item-id="{items[2]["id"]}"] .st')).to_have_class("st labeled")

    page.keyboard.press("n")
    page.wait_for_url(re.compile(rf"/items/{items[1]['id']}/$"))
    strip_ready(page, items[1])

    # Something of mine changed: N asks, Yes saves it first, then moves on past the labeled image.
    page.keyboard.press("d")
    click_image(page, 100, 100)  # a draft vertex: an unsaved change
    expect(page.locator("#item-status")).to_have_attribute("data-saved", "false")
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    page.get_by_role("dialog").get_by_role("button", name="Yes", exact=True).click()
    page.wait_for_url(re.compile(rf"/items/{items[3]['id']}/$"))
    strip_ready(page, items[3])
    state = site.api().get(f"/api/items/{items[1]['id']}/state/")
    assert state["saved_seq"] == state["seq"]

    page.keyboard.press("p")
    page.wait_for_url(re.compile(rf"/items/{items[2]['id']}/$"))
    strip_ready(page, items[2])
    page.keyboard.press("p")
    page.wait_for_url(re.compile(rf"/items/{items[1]['id']}/$"))
    strip_ready(page, items[1])

    # A click on a strip thumbnail opens that image.
    page.locator(f'#strip a[data-item-id="{items[0]["id"]}"]').click()
    page.wait_for_url(re.compile(rf"/items/{items[0]['id']}/$"))
    strip_ready(page, items[0])
