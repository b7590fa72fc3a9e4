"""Leaving the labeling page: "Back to data labeling preview" asks to save; Yes saves, No discards what
changed since the last save."""

from __future__ import annotations

import pytest

from .helpers import draw_polygon, expect, open_item, settled, shape_rows

pytestmark = pytest.mark.browser


def leave(page, answer: str) -> None:
    page.get_by_role("button", name="Back to data labeling preview").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Save?")
    dialog.get_by_role("button", name=answer, exact=True).click()
    expect(page.locator("#job-page")).to_be_visible()


def test_no_discards_the_changes_since_the_last_save_and_yes_saves(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    page = open_page("demo")
    open_item(page, site, item["id"])
    draw_polygon(page, [(50, 50), (150, 50), (100, 150)], label="cat")
    page.keyboard.press("Control+s")
    expect(page.locator("#item-status")).to_have_attribute("data-saved", "true")
    draw_polygon(page, [(300, 300), (400, 300), (350, 400)], label="dog")
    settled(page)
    expect(shape_rows(page)).to_have_count(2)

    leave(page, "No")
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert len(state["shapes"]) == 1
    assert state["drafts"] == []

    open_item(page, site, item["id"])
    expect(shape_rows(page)).to_have_count(1)
    draw_polygon(page, [(300, 300), (400, 300), (350, 400)], label="dog")
    settled(page)
    leave(page, "Yes")
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert len(state["shapes"]) == 2
    assert state["saved_seq"] == state["seq"]
    expect(page.locator('[data-count="labeled"]')).to_have_text("(1)")


# Several people (issue 17): every way out asks only the person who has changes since the last save, and a
# person's No discards only their own.

SQUARE_A = [(60, 60), (200, 60), (200, 200), (60, 200)]
TRIANGLE_B = [(350, 250), (500, 250), (420, 400)]


def two_on_one_image(open_page, site, new_job):
    """ann with an unsaved polygon, and bob on the same image; returns (item, ann's page, bob's page)."""
    job = new_job()
    item = job["items"][0]
    ann = open_page("ann")
    open_item(ann, site, item["id"])
    draw_polygon(ann, SQUARE_A, label="cat")
    settled(ann)
    bob = open_page("bob")
    open_item(bob, site, item["id"])
    expect(shape_rows(bob)).to_have_count(1)
    return job, item, ann, bob


def ann_shape_ids(site, item):
    state = site.api().get(f"/api/items/{item['id']}/state/")
    return [s["id"] for s in state["shapes"]]


def test_one_persons_no_keeps_anothers_unsaved_polygon_on_both_screens_and_in_the_state(
    open_page, site, new_job
):
    job, item, ann, bob = two_on_one_image(open_page, site, new_job)
    [ann_shape] = ann_shape_ids(site, item)
    draw_polygon(bob, TRIANGLE_B, label="dog")  # bob changed something too: bob is asked
    settled(bob)
    expect(shape_rows(ann)).to_have_count(2)

    leave(bob, "No")

    # Bob's triangle is discarded; ann's square stays, on ann's screen, on bob's when he comes back, and in
    # the server's state.
    expect(shape_rows(ann)).to_have_count(1)
    expect(shape_rows(ann).first).to_contain_text("cat")
    assert ann_shape_ids(site, item) == [ann_shape]
    open_item(bob, site, item["id"])
    expect(shape_rows(bob)).to_have_count(1)
    expect(shape_rows(bob).first).to_contain_text("cat")
    expect(ann.locator("#item-status")).to_have_attribute("data-saved", "false")


def test_someone_without_changes_leaves_by_back_without_a_question(open_page, site, new_job):
    job, item, ann, bob = two_on_one_image(open_page, site, new_job)
    bob.get_by_role("button", name="Back to data labeling preview").click()
    expect(bob.locator("#job-page")).to_be_visible()
    expect(bob.get_by_role("dialog")).to_have_count(0)
    assert len(ann_shape_ids(site, item)) == 1
    expect(shape_rows(ann)).to_have_count(1)


def test_a_page_opened_later_knows_my_pending_changes(open_page, site, new_job):
    job, item, ann, bob = two_on_one_image(open_page, site, new_job)
    again = open_page("ann")  # ann's changes were made in another page: this one learns of them on loading
    open_item(again, site, item["id"])
    again.get_by_role("button", name="Back to data labeling preview").click()
    dialog = again.get_by_role("dialog")
    expect(dialog).to_contain_text("Save?")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(shape_rows(again)).to_have_count(1)


def test_the_breadcrumb_asks_only_the_person_with_changes(open_page, site, new_job):
    job, item, ann, bob = two_on_one_image(open_page, site, new_job)
    bob.locator("#job-link").click()
    expect(bob.locator("#job-page")).to_be_visible()

    ann.locator("#job-link").click()
    dialog = ann.get_by_role("dialog")
    expect(dialog).to_contain_text("Save?")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(shape_rows(ann)).to_have_count(1)
    assert ann.url.endswith(f"/items/{item['id']}/")

    ann.locator("#job-link").click()
    ann.get_by_role("dialog").get_by_role("button", name="Yes", exact=True).click()
    expect(ann.locator("#job-page")).to_be_visible()
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert len(state["shapes"]) == 1
    assert state["saved_seq"] == state["seq"]


def test_the_browsers_back_asks_only_the_person_with_changes(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    pages = {}
    for name in ("ann", "bob"):
        page = pages[name] = open_page(name)
        page.goto(site.url(f"/jobs/{job['id']}/"))
        page.locator(f'#grid .tile[data-item-id="{item["id"]}"] a').first.click()
        expect(page.locator("body")).to_have_attribute("data-live", "true")
    ann, bob = pages["ann"], pages["bob"]
    draw_polygon(ann, SQUARE_A, label="cat")
    settled(ann)
    expect(shape_rows(bob)).to_have_count(1)

    bob.keyboard.press("e")  # an interaction, no change
    bob.go_back()
    expect(bob.locator("#job-page")).to_be_visible()

    ann.go_back()
    dialog = ann.get_by_role("dialog")
    expect(dialog).to_contain_text("Save?")
    dialog.get_by_role("button", name="No", exact=True).click()
    expect(ann.locator("#job-page")).to_be_visible()
    assert ann_shape_ids(site, item) == []


def test_closing_the_tab_asks_the_browser_only_with_my_changes(open_page, site, new_job):
    job, item, ann, bob = two_on_one_image(open_page, site, new_job)
    bob.keyboard.press("e")  # an interaction (browsers prompt only after one), no change
    bob.close(run_before_unload=True)
    bob.wait_for_event("close")
    assert bob.is_closed()

    with ann.expect_event("dialog") as prompt:
        ann.close(run_before_unload=True)
    assert prompt.value.type == "beforeunload"
    prompt.value.dismiss()  # stay
    expect(shape_rows(ann)).to_have_count(1)
    assert not ann.is_closed()


def test_n_and_the_strip_ask_only_the_person_with_changes(open_page, site, new_job):
    job, item, ann, bob = two_on_one_image(open_page, site, new_job)
    expect(bob.locator("body")).to_have_attribute("data-strip", "ready")
    bob.keyboard.press("n")
    bob.wait_for_url(site.url(f"/items/{job['items'][1]['id']}/"))
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["saved_seq"] < state["seq"]  # bob's move saved nothing of ann's

    expect(ann.locator("body")).to_have_attribute("data-strip", "ready")
    ann.locator(f'#strip a[data-item-id="{job["items"][2]["id"]}"]').click()
    dialog = ann.get_by_role("dialog")
    expect(dialog).to_contain_text("Save?")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    assert ann.url.endswith(f"/items/{item['id']}/")
    ann.keyboard.press("n")
    ann.get_by_role("dialog").get_by_role("button", name="Yes", exact=True).click()
    ann.wait_for_url(site.url(f"/items/{job['items'][1]['id']}/"))
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["saved_seq"] == state["seq"]
