"""Review on the labeling page (issue 24, point 3): a reviewer, whose page is read only for shapes, pins an
issue on a vertex and rejects the image with a reason; the annotator, in another browser, sees the marker
and the reason live, fixes the shape, resolves the issue and saves; the reviewer sees the image back "to
review" and accepts it. The server's state holds every step. Texts with markup in them are shown as
written and never run."""

from __future__ import annotations

import uuid

import pytest

from .conftest import ARTIFACTS
from .helpers import click_image, client_point, drag, expect, open_item, settled, square

pytestmark = pytest.mark.browser

# Markup in an issue, a comment and a reason: shown as the characters typed, never as an element.
ISSUE_TEXT = 'This corner cuts the cat\'s ear <img src=x onerror="window.__pwned=1">'
REASON = "Corner off, see issue 1 <img src=x onerror=\"window.__pwned='reason'\"> <b>bold?</b>"
COMMENT = "Moved it out <script>window.__pwned='comment'</script>"


def _labeled_item(site, new_job, labeler, roles):
    """A job whose members have `roles` ({username: role}); its first image labeled by `labeler` (a
    square, cat #1) and saved, so it waits for review. (job, item, the square's id)."""
    job = new_job(members=())
    for username, role in roles.items():
        site.api().post(f"/api/jobs/{job['id']}/members/", {"username": username, "role": role})
    item = job["items"][0]
    shape_id = str(uuid.uuid4())
    cat = job["label_classes"][0]["id"]
    api = site.api(labeler)
    api.command(
        item["id"],
        {"type": "add_polygon", "shape_id": shape_id, "label_class_id": cat, "points": square(100, 100, 120)},
    )
    api.command(item["id"], {"type": "save"})
    return job, item, shape_id


def _no_script_ran(page):
    assert page.evaluate("window.__pwned === undefined")
    # No element came out of anyone's text: the thread, the reason and the list hold text only.
    for where in ("#review-reason", ".issue-thread", "#issue-list"):
        assert page.locator(f"{where} img, {where} script, {where} b").count() == 0


def test_reject_with_an_issue_on_a_vertex_fix_resolve_save_accept(open_page, site, new_job):
    job, item, shape_id = _labeled_item(site, new_job, "ann", {"ann": "annotator", "bob": "reviewer"})
    reviewer = open_page("bob")
    open_item(reviewer, site, item["id"])
    annotator = open_page("ann")
    open_item(annotator, site, item["id"])

    # The reviewer's page: shapes are read only, the review tools are on.
    expect(reviewer.locator("#review-status")).to_have_text("To review")
    expect(reviewer.locator("body")).to_have_attribute("data-read-only", "true")
    expect(reviewer.get_by_role("button", name="Polygon tool", exact=True)).to_be_disabled()
    expect(reviewer.get_by_role("button", name="Save", exact=True)).to_be_disabled()
    expect(reviewer.get_by_role("button", name="Issue tool")).to_be_enabled()
    # The annotator sees the status, not the review buttons.
    expect(annotator.locator("#review-status")).to_have_text("To review")
    expect(annotator.locator(".review-bar button.accept")).to_have_count(0)

    # C: the issue tool; a click on the square's corner pins the issue exactly on that vertex.
    reviewer.keyboard.press("c")
    expect(reviewer.locator("#stage")).to_have_class("stage mode-issue")
    click_image(reviewer, 102, 101)
    composer = reviewer.get_by_role("dialog", name="New issue")
    expect(composer).to_contain_text("cat #1")
    composer.get_by_label("Issue").fill(ISSUE_TEXT)
    composer.get_by_role("button", name="Open issue").click()
    marker = reviewer.locator("#canvas .issue-marker")
    expect(marker).to_have_count(1)
    expect(marker).to_have_attribute("data-status", "open")
    expect(marker.locator("text")).to_have_text("1")
    thread = reviewer.locator(".issue-thread")
    expect(thread.locator(".issue-text")).to_have_text(ISSUE_TEXT)
    expect(thread).to_contain_text("opened by bob")

    # An open issue blocks accepting: the refusal says so.
    reviewer.locator(".review-bar button.accept").click()
    expect(reviewer.locator(".notice.refusal[data-code=open_issues]").first).to_be_visible()

    # Reject with a reason.
    reviewer.locator(".review-bar button.reject").click()
    dialog = reviewer.get_by_role("dialog", name="Reject this image?")
    dialog.get_by_label("Reason").fill(REASON)
    dialog.get_by_role("button", name="Reject").click()
    expect(reviewer.locator("#review-status")).to_have_text("Rejected")
    expect(reviewer.locator("#review-reason")).to_have_text(REASON)

    # The annotator, live: the marker where the reviewer pointed, the status and the reason as written.
    ann_marker = annotator.locator("#canvas .issue-marker")
    expect(ann_marker).to_have_count(1)
    expect(annotator.locator("#review-status")).to_have_text("Rejected")
    expect(annotator.locator("#review-reason")).to_have_text(REASON)
    expect(annotator.locator("#issue-count")).to_have_text("1 open issue")
    # ... and told in the notification area, the reason as written.
    told = annotator.locator(".notice", has_text="bob rejected this image")
    expect(told.locator(".text")).to_have_text(f"bob rejected this image: “{REASON}”")
    box = ann_marker.locator(".hit").bounding_box()
    tip = client_point(annotator, 100, 100)
    assert abs(box["x"] + box["width"] / 2 - tip[0]) < 2  # the pin stands on the vertex
    assert box["y"] + box["height"] < tip[1]

    # Its thread: the text as written, who opened it; a comment.
    ann_marker.locator(".hit").click()
    ann_thread = annotator.locator(".issue-thread")
    expect(ann_thread.locator(".issue-text")).to_have_text(ISSUE_TEXT)
    expect(ann_thread).to_contain_text("opened by bob")
    ann_thread.get_by_label("Comment").fill(COMMENT)
    ann_thread.get_by_role("button", name="Comment").click()
    expect(ann_thread.locator(".issue-comment")).to_have_count(1)
    expect(ann_thread.locator(".issue-comment .comment-text")).to_have_text(COMMENT)
    # The reviewer's open thread gets the comment live.
    expect(thread.locator(".issue-comment .comment-text")).to_have_text(COMMENT)
    expect(thread.locator(".issue-comment .comment-author")).to_have_text("ann")

    # The fix: the corner dragged out (the pin's tip leaves the vertex to the edit tool).
    annotator.keyboard.press("Escape")
    annotator.keyboard.press("e")
    click_image(annotator, 160, 160)
    expect(annotator.locator("#canvas .shape.selected")).to_have_count(1)
    drag(annotator, (100, 100), (80, 85))
    settled(annotator)

    # Resolve, then save: the image goes back to the reviewer.
    ann_marker.locator(".hit").click()
    ann_thread.get_by_role("button", name="Resolve").click()
    expect(ann_marker).to_have_attribute("data-status", "resolved")
    expect(annotator.locator("#issue-count")).to_have_text("")
    annotator.get_by_role("button", name="Save", exact=True).click()
    settled(annotator)
    expect(annotator.locator("#review-status")).to_have_text("To review")

    # The reviewer, live: resolved marker, "to review" again; reopening the issue is theirs (shown), and
    # accepting now goes through.
    expect(marker).to_have_attribute("data-status", "resolved")
    expect(reviewer.locator("#review-status")).to_have_text("To review")
    expect(reviewer.locator("#review-reason")).to_be_hidden()
    expect(thread.get_by_role("button", name="Reopen")).to_be_visible()
    reviewer.locator(".review-bar button.accept").click()
    expect(reviewer.locator("#review-status")).to_have_text("Accepted")
    expect(annotator.locator("#review-status")).to_have_text("Accepted")
    expect(reviewer.locator(".review-bar button.reopen")).to_be_visible()

    for page in (reviewer, annotator):
        _no_script_ran(page)

    # The server holds it all: accepted by bob, the issue resolved with its comment, the corner moved.
    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["review"]["status"] == "accepted"
    [issue] = state["issues"]
    assert issue["status"] == "resolved"
    assert issue["text"] == ISSUE_TEXT
    assert issue["shape_id"] == shape_id
    assert (issue["x"], issue["y"]) == (100, 100)
    assert [c["text"] for c in issue["comments"]] == [COMMENT]
    [shape] = state["shapes"]
    assert shape["points"][0] == [80, 85]
    assert state["saved_seq"] >= 1

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    reviewer.locator("#canvas .issue-marker .hit").click()
    reviewer.screenshot(path=str(ARTIFACTS / "review-issue-thread.png"))

    # The quality page shows both people's figures, counted from these events: ann labeled the image, had
    # it rejected once with one issue, reworked it and had it accepted; bob sent one decision of each.
    report = {p["username"]: p for p in site.api().get(f"/api/jobs/{job['id']}/quality/")["people"]}
    reviewer.goto(site.url(f"/jobs/{job['id']}/quality/"))
    expect(reviewer.locator("body")).to_have_attribute("data-ready", "true")
    ann = reviewer.locator(f'.person[data-person="{report["ann"]["id"]}"]')
    for figure, value in (("labeled", "1"), ("accepted", "1"), ("rejected", "1"), ("rework", "1")):
        expect(ann.locator(f'[data-figure="{figure}"] .value')).to_have_text(value)
    expect(ann.locator('[data-figure="issues_per_image"] .value')).to_have_text("1.00")
    bob = reviewer.locator(f'.person[data-person="{report["bob"]["id"]}"]')
    expect(bob.locator('[data-figure="reviews_accepted"] .value')).to_have_text("1 / 1")


def test_the_auditor_reads_the_review_and_the_issues_but_sends_nothing(open_page, site, new_job):
    job, item, shape_id = _labeled_item(site, new_job, "demo", {"ann": "reviewer", "bob": "auditor"})
    reviewer = site.api("ann")
    issue = {
        "type": "open_issue",
        "issue_id": str(uuid.uuid4()),
        "x": 220,
        "y": 160,
        "shape_id": shape_id,
        "text": ISSUE_TEXT,
    }
    reviewer.command(item["id"], issue)
    reviewer.command(item["id"], {"type": "reject_review", "reason": REASON})
    before = site.api().get(f"/api/items/{item['id']}/state/")["seq"]

    page = open_page("bob")
    open_item(page, site, item["id"])
    expect(page.locator("#review-status")).to_have_text("Rejected")
    expect(page.locator("#review-reason")).to_have_text(REASON)
    expect(page.locator(".review-bar button")).to_have_count(0)
    expect(page.get_by_role("button", name="Issue tool")).to_be_disabled()
    page.keyboard.press("c")
    expect(page.locator("#stage")).to_have_class("stage mode-edit")

    page.locator("#issue-list .issue-row").click()
    thread = page.locator(".issue-thread")
    expect(thread.locator(".issue-text")).to_have_text(ISSUE_TEXT)
    expect(thread.locator("textarea")).to_have_count(0)
    expect(thread.locator(".issue-actions button")).to_have_count(0)
    _no_script_ran(page)
    assert site.api().get(f"/api/items/{item['id']}/state/")["seq"] == before


def test_the_reviewer_reopens_an_accepted_image_and_a_resolved_issue(open_page, site, new_job):
    job, item, shape_id = _labeled_item(site, new_job, "ann", {"ann": "annotator", "bob": "reviewer"})
    issue_id = str(uuid.uuid4())
    bob, ann = site.api("bob"), site.api("ann")
    issue = {
        "type": "open_issue",
        "issue_id": issue_id,
        "x": 400,
        "y": 300,
        "shape_id": None,
        "text": "A dog?",
    }
    bob.command(item["id"], issue)
    ann.command(item["id"], {"type": "resolve_issue", "issue_id": issue_id})
    bob.command(item["id"], {"type": "accept_review"})

    reviewer = open_page("bob")
    open_item(reviewer, site, item["id"])
    annotator = open_page("ann")
    open_item(annotator, site, item["id"])
    expect(reviewer.locator("#review-status")).to_have_text("Accepted")
    expect(reviewer.locator(".review-bar button.accept")).to_be_disabled()

    # Reopen the review: back to "to review" for both.
    reviewer.locator(".review-bar button.reopen").click()
    expect(reviewer.locator("#review-status")).to_have_text("To review")
    expect(reviewer.locator(".review-bar button.reopen")).to_be_hidden()
    expect(reviewer.locator(".review-bar button.accept")).to_be_enabled()
    expect(annotator.locator("#review-status")).to_have_text("To review")

    # Reopen the resolved issue from the panel's list: open again, for both, and the annotator is told.
    reviewer.locator("#issue-list .issue-row").click()
    thread = reviewer.locator(".issue-thread")
    expect(thread.locator(".issue-where")).to_have_text("At 400, 300")
    thread.get_by_role("button", name="Reopen").click()
    expect(reviewer.locator("#canvas .issue-marker")).to_have_attribute("data-status", "open")
    expect(thread.get_by_role("button", name="Resolve")).to_be_visible()  # a reviewer may resolve too
    expect(annotator.locator("#canvas .issue-marker")).to_have_attribute("data-status", "open")
    expect(annotator.locator("#issue-count")).to_have_text("1 open issue")
    expect(annotator.locator(".notice", has_text="bob reopened issue 1.")).to_have_count(1)
    # The annotator's thread offers Resolve, not Reopen (a reviewer's).
    annotator.locator("#canvas .issue-marker .hit").click()
    expect(annotator.locator(".issue-thread").get_by_role("button", name="Resolve")).to_be_visible()
    expect(annotator.locator(".issue-thread").get_by_role("button", name="Reopen")).to_have_count(0)

    state = site.api().get(f"/api/items/{item['id']}/state/")
    assert state["review"]["status"] == "to_review"
    assert [i["status"] for i in state["issues"]] == ["open"]


def _labeled(site, job, item_id, labeler):
    api = site.api(labeler)
    cat = job["label_classes"][0]["id"]
    shape = {"type": "add_polygon", "shape_id": str(uuid.uuid4()), "label_class_id": cat}
    api.command(item_id, {**shape, "points": square(100, 100, 120)})
    api.command(item_id, {"type": "save"})


def test_n_goes_to_the_next_image_of_my_work_a_reviewers_to_review_an_annotators_fix_due(
    open_page, site, new_job
):
    """After a decision the reviewer presses N and lands on the next image waiting for review, not on an
    unlabeled one they can do nothing with; an annotator's N goes to an image rejected back to them as it
    goes to an unlabeled one, as Start labeling counts them."""
    job, first, _ = _labeled_item(site, new_job, "ann", {"ann": "annotator", "bob": "reviewer"})
    items = [item["id"] for item in job["items"]]
    # items[1] and [2] stay unlabeled; items[3] waits for review; items[4] is labeled and rejected.
    _labeled(site, job, items[3], "ann")
    _labeled(site, job, items[4], "ann")
    site.api("demo").command(items[4], {"type": "reject_review", "reason": "the ear"})

    reviewer = open_page("bob")
    open_item(reviewer, site, first["id"])
    expect(reviewer.locator("body")).to_have_attribute("data-strip", "ready")
    reviewer.locator(".review-bar button.accept").click()
    expect(reviewer.locator("#review-status")).to_have_text("Accepted")
    reviewer.keyboard.press("n")
    expect(reviewer).to_have_url(site.url(f"/items/{items[3]}/"))

    annotator = open_page("ann")
    open_item(annotator, site, items[3])
    expect(annotator.locator("body")).to_have_attribute("data-strip", "ready")
    annotator.keyboard.press("n")
    expect(annotator).to_have_url(site.url(f"/items/{items[4]}/"))
    expect(annotator.locator("#review-status")).to_have_text("Rejected")
