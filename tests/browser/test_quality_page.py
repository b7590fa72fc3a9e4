"""The Quality page: both annotators' figures (labeled and reviewed through the API in the setup), the SVG
charts with a bar or point per day, and a figure's link to the events behind it, on to the replay."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from .conftest import ARTIFACTS
from .helpers import expect, label_id, square

pytestmark = pytest.mark.browser


def _session(site: Any, job: dict[str, Any]) -> dict[str, int]:
    """ann labels images 0 and 1, bob 2 and 3, each with a square (and ann a triangle too); demo (the
    manager, reviewing) opens an issue on 0 and rejects it; ann resolves it, fixes and saves again; demo
    accepts 0 and 2 and rejects 3."""
    cat = label_id(job, "cat")
    items = [item["id"] for item in job["items"][:4]]
    ann, bob, demo = site.api("ann"), site.api("bob"), site.api()
    shapes = {}
    for api, item in ((ann, items[0]), (ann, items[1]), (bob, items[2]), (bob, items[3])):
        shapes[item] = str(uuid.uuid4())
        api.command(
            item,
            {
                "type": "add_polygon",
                "shape_id": shapes[item],
                "label_class_id": cat,
                "points": square(40, 40, 80),
            },
        )
        api.command(item, {"type": "save"})
    ann.command(
        items[1],
        {
            "type": "add_polygon",
            "shape_id": str(uuid.uuid4()),
            "label_class_id": cat,
            "points": [[200, 200], [260, 200], [230, 250]],
        },
    )
    ann.command(items[1], {"type": "save"})
    issue = str(uuid.uuid4())
    demo.command(
        items[0],
        {
            "type": "open_issue",
            "issue_id": issue,
            "x": 40,
            "y": 40,
            "shape_id": shapes[items[0]],
            "text": "the corner is off",
        },
    )
    demo.command(items[0], {"type": "reject_review", "reason": "see the issue"})
    ann.command(items[0], {"type": "resolve_issue", "issue_id": issue})
    ann.command(items[0], {"type": "move_vertex", "shape_id": shapes[items[0]], "index": 0, "x": 42, "y": 42})
    ann.command(items[0], {"type": "save"})
    demo.command(items[0], {"type": "accept_review"})
    demo.command(items[2], {"type": "accept_review"})
    demo.command(items[3], {"type": "reject_review", "reason": "not a cat"})
    return {"ann": items[0], "bob": items[2]}


def test_the_quality_page_shows_both_people_charts_and_the_events_behind_a_figure(
    site, new_job, open_page
) -> None:
    job = new_job()
    _session(site, job)
    report = site.api().get(f"/api/jobs/{job['id']}/quality/")
    people = {person["username"]: person for person in report["people"]}
    days = {day["day"] for person in report["people"] for day in person["days"]}
    assert (
        len(days) == 1
    )  # the setup runs within seconds (a run across midnight UTC has two: still fine below)

    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/quality/"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")

    for name, labeled, accepted, rejected in (("ann", 2, 1, 1), ("bob", 2, 1, 1)):
        card = page.locator(f'.person[data-person="{people[name]["id"]}"]')
        expect(card.locator("h3")).to_have_text(name)
        expect(card.locator('[data-figure="labeled"] .value')).to_have_text(str(labeled))
        expect(card.locator('[data-figure="accepted"] .value')).to_have_text(str(accepted))
        expect(card.locator('[data-figure="rejected"] .value')).to_have_text(str(rejected))
        # One bar and one point a day on the person's charts.
        expect(card.locator("svg.labeled-days rect.bar")).to_have_count(len(days))
        expect(card.locator("svg.active-days circle.point")).to_have_count(len(days))
    ann = page.locator(f'.person[data-person="{people["ann"]["id"]}"]')
    expect(ann.locator('[data-figure="rework"] .value')).to_have_text("1")
    expect(ann.locator('[data-figure="issues_per_image"] .value')).to_have_text("0.50")
    expect(ann.locator('[data-figure="vertices_per_shape"] .value')).to_have_text("3.7")  # 4 + 4 + 3 over 3

    # Throughput: an accepted and a rejected bar a day (2 accepted, 2 rejected in all).
    bars = page.locator("svg.throughput rect.bar")
    expect(bars).to_have_count(2 * len(days))
    expect(page.locator("svg.throughput rect.bar.accepted")).to_have_attribute("data-value", "2")
    expect(page.locator("svg.throughput rect.bar.rejected")).to_have_attribute("data-value", "2")
    # Reviews received: an accepted and a rejected segment for each of the two.
    expect(page.locator("svg.verdicts rect.bar")).to_have_count(4)
    page.screenshot(path=str(ARTIFACTS / "quality-page.png"), full_page=True)

    # A figure opens the events behind it: ann's two labeling saves, each a link to the replay there.
    ann.locator('[data-figure="labeled"]').click()
    expect(page.locator("#events")).to_be_visible()
    expect(page.locator("#events-title")).to_contain_text("images labeled: ann")
    rows = page.locator("#event-rows tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("td").nth(2)).to_have_text("saved")
    seq = rows.first.get_attribute("data-seq")
    item = rows.first.get_attribute("data-item")
    rows.first.get_by_role("link", name="replay").click()
    page.wait_for_url(re.compile(rf"/items/{item}/replay/\?seq={seq}$"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("body")).to_have_attribute("data-seq", seq)


def test_a_throughput_bar_lists_that_days_decisions(site, new_job, open_page) -> None:
    job = new_job()
    _session(site, job)
    page = open_page("ann")  # an annotator reads the page too
    page.goto(site.url(f"/jobs/{job['id']}/quality/"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.locator("svg.throughput a:has(rect.bar.rejected)").first.click()
    expect(page.locator("#events-title")).to_contain_text("reviews sent: rejected: everyone")
    expect(page.locator("#event-rows tr")).to_have_count(2)
    expect(page.locator("#event-rows tr td:nth-child(3)")).to_have_text(
        ["review_rejected", "review_rejected"]
    )


def test_a_manager_marks_ground_truth_offers_a_copy_and_sees_the_annotators_iou(
    site, new_job, open_page
) -> None:
    job = new_job()
    items = _session(site, job)
    ann_id = site.seed["users"]["ann"]
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/quality/"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    # The accepted images are offered (0 and 2); bob's becomes ground truth.
    expect(page.locator("#truth-candidate option")).to_have_count(2)
    page.locator("#truth-candidate").select_option(str(items["bob"]))
    page.get_by_role("button", name="Mark as ground truth").click()
    expect(page.locator("#truth-item option")).to_have_count(1)
    expect(page.locator("#truth-candidate option")).to_have_count(1)
    # Annotators are offered first (the manager, who made the job, last), each with their role.
    annotators = page.locator("#truth-annotator option")
    expect(annotators).to_have_text(["ann (annotator)", "bob (annotator)", "demo (manager)"])
    expect(page.locator("#truth-annotator")).to_have_value(str(ann_id))
    page.locator("#truth-annotator").select_option(str(ann_id))
    page.get_by_role("button", name="Offer a copy").click()
    expect(page.locator("#truth-note")).to_contain_text("1 copy not labeled yet")
    [pending] = site.api().get(f"/api/jobs/{job['id']}/ground-truth/")["pending"]
    assert pending["annotator"] == ann_id and pending["truth_item_id"] == items["bob"]
    copy = pending["item_id"]
    # The copy is in ann's queue: assigned to her, so "Start labeling" hands it out first.
    assert site.api("ann").get(f"/api/jobs/{job['id']}/next/?for=label")["item"] == copy
    # ann draws the square 4 px off: IoU 76 * 80 / (2 * 6400 - 76 * 80) = 0.905.
    ann = site.api("ann")
    ann.command(
        copy,
        {
            "type": "add_polygon",
            "shape_id": str(uuid.uuid4()),
            "label_class_id": label_id(job, "cat"),
            "points": square(44, 40, 80),
        },
    )
    ann.command(copy, {"type": "save"})

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    bar = page.locator(f'svg.truth rect.bar.iou[data-person="{ann_id}"]')
    expect(bar).to_have_count(1)
    assert abs(float(bar.get_attribute("data-value")) - 76 * 80 / (2 * 6400 - 76 * 80)) < 1e-3
    expect(page.locator(f'#truth-details li[data-person="{ann_id}"]')).to_contain_text("no label confusions")
    expect(page.locator(f'#truth-details li[data-person="{ann_id}"] a')).to_have_attribute(
        "href", re.compile(rf"/items/{copy}/replay/\?seq=\d+$")
    )


def test_someone_who_only_reviews_gets_their_reviews_not_a_row_of_zero_labeling_figures(
    site, new_job, open_page
) -> None:
    """demo reviews in the session and labels nothing: their card leads with the reviews they sent and
    charts them per day; "0 accepted" beside "2 reviews sent: accepted" would read as a verdict on them."""
    job = new_job()
    _session(site, job)
    report = site.api().get(f"/api/jobs/{job['id']}/quality/")
    people = {person["username"]: person for person in report["people"]}
    days = {day["day"] for person in report["people"] for day in person["days"]}

    page = open_page("ann")
    page.goto(site.url(f"/jobs/{job['id']}/quality/"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")

    demo = page.locator(f'.person[data-person="{people["demo"]["id"]}"]')
    expect(demo).to_have_attribute("data-work", "reviews")
    expect(demo.locator('[data-figure="reviews_accepted"] .value')).to_have_text("2 / 2")
    expect(demo.locator('[data-figure="active_seconds"]')).to_be_visible()
    for figure in ("labeled", "accepted", "rejected", "rework", "issues_per_image", "vertices_per_shape"):
        expect(demo.locator(f'[data-figure="{figure}"]')).to_have_count(0)
    expect(demo.locator("svg.labeled-days")).to_have_count(0)
    expect(demo.locator("svg.reviews-days rect.bar.accepted")).to_have_count(len(days))
    expect(demo.locator("svg.reviews-days rect.bar.accepted")).to_have_attribute("data-value", "2")
    expect(demo.locator("svg.reviews-days rect.bar.rejected")).to_have_attribute("data-value", "2")
    # Those who label keep every figure.
    ann = page.locator(f'.person[data-person="{people["ann"]["id"]}"]')
    expect(ann).to_have_attribute("data-work", "labels")
    expect(ann.locator('[data-figure="labeled"] .value')).to_have_text("2")
