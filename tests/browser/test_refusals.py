"""Refusals: a polygon partly outside the image, or crossing itself, is refused with a visible message
where it was drawn, and nothing of it is stored."""

from __future__ import annotations

import pytest

from .helpers import click_image, draw_polygon, expect, open_item, settled, shape_rows

pytestmark = pytest.mark.browser


def test_a_vertex_outside_the_image_is_refused_with_a_message_and_not_stored(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])

    click_image(page, 60, 60)
    click_image(page, 200, 60)
    click_image(page, -12, 200)  # left of the image's edge
    settled(page)

    refusal = page.locator(".refusal[data-code=polygon_outside_image]")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("outside")
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["shapes"] == []
    assert [len(d["points"]) for d in state["drafts"]] == [2]
    assert all(0 <= x <= 640 and 0 <= y <= 480 for d in state["drafts"] for x, y in d["points"])
    expect(page.locator("#canvas .draft.mine .vertex")).to_have_count(2)
    expect(shape_rows(page)).to_have_count(0)


def test_a_polygon_crossing_itself_is_refused_where_it_was_closed(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])

    draw_polygon(page, [(100, 100), (300, 300), (300, 100), (100, 300)], label="cat")  # a bow tie
    settled(page)

    expect(page.locator(".refusal[data-code=self_intersecting]")).to_be_visible()
    expect(shape_rows(page)).to_have_count(0)
    expect(page.locator("#canvas .draft.mine .vertex")).to_have_count(4)  # the draft stays, to fix
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["shapes"] == []
