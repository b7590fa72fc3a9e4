"""Refusals: a polygon partly outside the image, or crossing itself, is refused with a message in words
(in the notification area, with a mark where it was drawn), and nothing of it is stored."""

from __future__ import annotations

import pytest

from .helpers import draw_polygon, expect, open_item, settled, shape_rows

pytestmark = pytest.mark.browser


# A vertex outside the image: clamped just beside it, refused in the page farther out (test_editing_rules.py).


def test_a_polygon_crossing_itself_is_refused_where_it_was_closed(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])

    draw_polygon(
        page, [(100, 100), (300, 300), (300, 100), (100, 300)], label="cat", refused=True
    )  # a bow tie
    settled(page)

    # In words, naming the polygon by its number (the tag on the image): no code, no id.
    expect(page.locator(".refusal[data-code=self_intersecting]")).to_have_text(
        "Polygon #1 would cross itself: move a vertex so that its edges do not cross, then close it again."
    )
    expect(page.locator("#canvas .draft.mine .number-tag")).to_have_text("#1")
    expect(shape_rows(page)).to_have_count(0)
    expect(page.locator("#canvas .draft.mine .vertex")).to_have_count(4)  # the draft stays, to fix
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["shapes"] == []
