"""The job page's review side (issue 24): the review tabs and their counts follow review decisions made
elsewhere, live; Start labeling opens the image assigned to me; a manager's Assign dialog assigns the
selected images and the Assigned to filter finds them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from .helpers import expect, label_id, open_item, square

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def labeled_by_api(site: Any, job: dict[str, Any], item_id: int, username: str = "ann") -> None:
    """A square of cat, saved, by `username`: the item is labeled, so it waits for review."""
    api = site.api(username)
    points = square(40, 40, 120)
    api.command(
        item_id,
        {
            "type": "add_polygon",
            "shape_id": str(uuid.uuid4()),
            "label_class_id": label_id(job, "cat"),
            "points": points,
        },
    )
    api.command(item_id, {"type": "save"})


def tile(page: Any, item_id: int) -> Any:
    return page.locator(f'#grid .tile[data-item-id="{item_id}"]')


def thumbnails_shown(page: Any) -> None:
    """The first two rows' pictures have loaded (for a screenshot that shows them)."""
    pictures = page.locator("#grid .tile .thumb img:not(.overlay)")
    for n in range(min(10, pictures.count())):
        expect(pictures.nth(n)).to_have_js_property("complete", True)


def test_the_review_tabs_and_counts_follow_a_review_made_elsewhere(
    open_page: Any, site: Any, new_job: Any
) -> None:
    job = new_job()
    first, second, third = (item["id"] for item in job["items"][:3])
    for item_id in (first, second, third):
        labeled_by_api(site, job, item_id)
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(page.locator("#live-status")).to_have_text("live")
    page.get_by_role("tab", name="To review").click()
    expect(page.locator('[data-review-count="to_review"]')).to_have_text("(3)")
    expect(page.locator('[data-review-count="rejected"]')).to_have_text("(0)")
    expect(page.locator("#grid .tile")).to_have_count(3)
    expect(tile(page, first).locator(".badge.review-to_review")).to_have_text("To review")

    reviewer = site.api("demo")  # the manager reviews, over the API, as another browser would
    reviewer.command(first, {"type": "reject_review", "reason": "the tail is missing"})
    reviewer.command(second, {"type": "accept_review"})

    expect(page.locator('[data-review-count="to_review"]')).to_have_text("(1)")
    expect(page.locator('[data-review-count="rejected"]')).to_have_text("(1)")
    expect(page.locator('[data-review-count="accepted"]')).to_have_text("(1)")
    expect(tile(page, first)).to_have_count(0)  # left the To review tab
    expect(tile(page, second)).to_have_count(0)
    expect(page.locator("#grid .tile")).to_have_count(1)

    page.get_by_role("tab", name="Rejected").click()
    expect(page).to_have_url(site.url(f"/jobs/{job['id']}/?status=all&review=rejected"))
    expect(page.locator("#grid .tile")).to_have_count(1)
    expect(tile(page, first).locator(".badge.review-rejected")).to_have_text("Rejected")
    # The review tab combines with the status tab: no unlabeled image is rejected.
    page.get_by_role("tab", name="Unlabeled").click()
    expect(page.locator("#grid .empty")).to_be_visible()

    # The page as docs/img/review_tabs.png shows it: every status, the review and assignee badges.
    api = site.api("demo")
    users = site.seed["users"]
    for n, item in enumerate(job["items"][:8]):
        seats = {"annotator": users["ann" if n % 2 else "bob"], "reviewer": users["demo"]}
        api.post(f"/api/jobs/{job['id']}/assignments/", {"item_ids": [item["id"]], **seats})
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    expect(tile(page, first).locator(".assignee")).to_have_text("✎ bob")
    expect(tile(page, first).locator(".badge.review-rejected")).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    thumbnails_shown(page)
    page.screenshot(path=str(ARTIFACTS / "review-tabs.png"))


def test_start_labeling_opens_the_image_assigned_to_me(open_page: Any, site: Any, new_job: Any) -> None:
    job = new_job()
    mine = job["items"][7]["id"]
    site.api("demo").post(
        f"/api/jobs/{job['id']}/assignments/", {"item_ids": [mine], "annotator": site.seed["users"]["ann"]}
    )
    page = open_page("ann")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(tile(page, mine).locator(".assignee")).to_have_text("✎ ann")

    page.get_by_role("button", name="Start labeling").click()

    expect(page).to_have_url(site.url(f"/items/{mine}/"))


def test_a_manager_assigns_the_selected_images_and_filters_by_assignee(
    open_page: Any, site: Any, new_job: Any
) -> None:
    job = new_job()
    chosen = [job["items"][1]["id"], job["items"][2]["id"]]
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(page.locator("#live-status")).to_have_text("live")
    for item_id in chosen:
        tile(page, item_id).locator(".pick input").check()

    page.get_by_role("button", name="Assign…").click()
    dialog = page.locator("#assign-dialog")
    expect(dialog.get_by_label("The 2 selected images")).to_be_checked()
    dialog.locator("select[name=annotator]").select_option(label="bob (annotator)")
    dialog.locator("select[name=reviewer]").select_option(label="demo (manager)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    thumbnails_shown(page)
    page.screenshot(path=str(ARTIFACTS / "review-assign-dialog.png"))
    dialog.get_by_role("button", name="Assign").click()

    expect(dialog).to_be_hidden()
    for item_id in chosen:
        expect(tile(page, item_id).locator(".assignee")).to_have_text("✎ bob")
        expect(tile(page, item_id).locator(".reviewer")).to_have_text("✓ demo")
    page.locator("#filters select[name=assigned_to]").select_option(label="bob")
    expect(page.locator("#grid .tile")).to_have_count(2)
    history = site.api("demo").get(f"/api/jobs/{job['id']}/assignments/history/")["results"]
    assert sorted((row["item"], row["seat"], row["assignee_name"]) for row in history) == sorted(
        [(i, seat, name) for i in chosen for seat, name in (("annotator", "bob"), ("reviewer", "demo"))]
    )


def test_split_evenly_from_the_dialog(open_page: Any, site: Any, new_job: Any) -> None:
    job = new_job()
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(page.locator("#live-status")).to_have_text("live")

    page.get_by_role("button", name="Assign…").click()
    dialog = page.locator("#assign-dialog")
    dialog.get_by_label("Split the unlabeled images").check()
    expect(dialog.get_by_label("ann", exact=True)).to_be_checked()
    expect(dialog.get_by_label("bob", exact=True)).to_be_checked()
    dialog.get_by_role("button", name="Assign").click()

    expect(page.locator(".toast")).to_contain_text("Split")
    ann = site.api("demo").get(f"/api/jobs/{job['id']}/items/?assigned_to={site.seed['users']['ann']}")[
        "count"
    ]
    bob = site.api("demo").get(f"/api/jobs/{job['id']}/items/?assigned_to={site.seed['users']['bob']}")[
        "count"
    ]
    assert ann + bob == len(job["items"]) and abs(ann - bob) <= 1


def test_start_labeling_offers_to_join_when_only_an_image_someone_else_has_open_is_left(
    open_page: Any, site: Any, new_job: Any
) -> None:
    job = new_job()
    users = site.seed["users"]
    api = site.api("demo")
    left = job["items"][4]["id"]
    api.post(f"/api/jobs/{job['id']}/assignments/", {"filter": {}, "annotator": users["bob"]})
    api.post(f"/api/jobs/{job['id']}/assignments/", {"item_ids": [left], "annotator": None})
    bob = open_page("bob")
    open_item(bob, site, left)
    expect(bob.locator('#presence [data-user="bob"]')).to_be_visible()  # recorded before it is shown
    page = open_page("ann")
    page.goto(site.url(f"/jobs/{job['id']}/"))

    page.get_by_role("button", name="Start labeling").click()
    question = page.get_by_role("dialog", name="Start labeling")
    expect(question).to_contain_text("open by someone else")
    expect(question).to_contain_text("(bob)")
    question.get_by_role("button", name="Join").click()

    expect(page).to_have_url(site.url(f"/items/{left}/"))


def test_assignments_made_elsewhere_show_on_an_open_job_page_without_a_reload(
    open_page: Any, site: Any, new_job: Any
) -> None:
    job = new_job()
    users = site.seed["users"]
    first, second = job["items"][0]["id"], job["items"][1]["id"]
    page = open_page("ann")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(page.locator("#live-status")).to_have_text("live")
    page.evaluate("window.notReloaded = true")  # gone if the page reloads
    expect(tile(page, first).locator(".assigned")).to_have_count(0)

    manager = site.api("demo")  # another manager's browser, over the API
    manager.post(
        f"/api/jobs/{job['id']}/assignments/",
        {"item_ids": [first, second], "annotator": users["bob"], "reviewer": users["demo"]},
    )

    expect(tile(page, first).locator(".assignee")).to_have_text("✎ bob")
    expect(tile(page, second).locator(".reviewer")).to_have_text("✓ demo")
    manager.post(f"/api/jobs/{job['id']}/assignments/", {"item_ids": [first], "annotator": None})
    expect(tile(page, first).locator(".assignee")).to_have_count(0)
    expect(tile(page, first).locator(".reviewer")).to_have_text("✓ demo")

    # Under Assigned to: Me, an image assigned to me joins the grid, and leaves it when taken away.
    page.locator("#filters select[name=assigned_to]").select_option(label="Me")
    expect(page.locator("#grid .empty")).to_be_visible()
    manager.post(f"/api/jobs/{job['id']}/assignments/", {"item_ids": [second], "annotator": users["ann"]})
    expect(page.locator("#grid .tile")).to_have_count(1)
    expect(tile(page, second).locator(".assignee")).to_have_text("✎ ann")
    manager.post(f"/api/jobs/{job['id']}/assignments/", {"item_ids": [second], "annotator": users["bob"]})
    expect(page.locator("#grid .empty")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_a_tile_shows_its_open_issues_and_follows_them_live(open_page: Any, site: Any, new_job: Any) -> None:
    """An annotator on the Rejected tab sees which images have issues to fix, and how many, without
    opening each; resolving one elsewhere takes the count down on the tile."""
    job = new_job()
    item_id = job["items"][0]["id"]
    labeled_by_api(site, job, item_id)
    reviewer = site.api("demo")
    issues = [str(uuid.uuid4()), str(uuid.uuid4())]
    for n, issue in enumerate(issues):
        reviewer.command(
            item_id, {"type": "open_issue", "issue_id": issue, "x": 50 + n, "y": 50, "text": "the ear"}
        )
    reviewer.command(item_id, {"type": "reject_review", "reason": "see the issues"})
    page = open_page("ann")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all&review=rejected"))
    expect(page.locator("#live-status")).to_have_text("live")
    badge = tile(page, item_id).locator(".badge.issues")
    expect(badge).to_have_text("⚑ 2")
    expect(badge).to_have_attribute("title", "2 open issues")

    site.api("ann").command(item_id, {"type": "resolve_issue", "issue_id": issues[0]})
    expect(badge).to_have_text("⚑ 1")
    site.api("ann").command(item_id, {"type": "resolve_issue", "issue_id": issues[1]})
    expect(tile(page, item_id).locator(".badge.issues")).to_have_count(0)


def test_a_reviewer_lands_on_the_images_to_review(open_page: Any, site: Any, new_job: Any) -> None:
    job = new_job(members=())
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "ann", "role": "annotator"})
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "bob", "role": "reviewer"})
    waiting = job["items"][2]["id"]
    labeled_by_api(site, job, waiting)
    page = open_page("bob")

    page.goto(site.url(f"/jobs/{job['id']}/"))

    expect(page).to_have_url(site.url(f"/jobs/{job['id']}/?status=all&review=to_review"))
    expect(page.get_by_role("tab", name="To review")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#grid .tile")).to_have_count(1)
    expect(tile(page, waiting)).to_be_visible()
    # Any other view is one click away, and stays what the URL says.
    page.get_by_role("tab", name="Unlabeled").click()
    page.get_by_role("tab", name="Any review").click()
    expect(page).to_have_url(site.url(f"/jobs/{job['id']}/"))
    unlabeled = len(job["items"]) - 1
    expect(page.locator("#pager .page-info")).to_contain_text(f"· {unlabeled} images")


def test_an_assignment_made_while_the_grid_is_read_is_not_undone_by_that_read(
    open_page: Any, site: Any, new_job: Any
) -> None:
    """The grid's list is read before a manager's assignment commits, and answered after its frame came:
    the tile must end with the frame's seats, not the older list's (which replaces every tile)."""
    job = new_job()
    first = job["items"][0]["id"]
    page = open_page("ann")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    expect(page.locator("#live-status")).to_have_text("live")
    expect(tile(page, first).locator(".assignee")).to_have_count(0)
    held: list[tuple[Any, Any]] = []

    def read_then_assign(route: Any) -> None:
        if held:  # a later read goes through
            route.continue_()
            return
        held.append((route, route.fetch()))  # the list as it is before the assignment
        site.api("demo").post(
            f"/api/jobs/{job['id']}/assignments/",
            {"item_ids": [first], "annotator": site.seed["users"]["bob"]},
        )

    page.route(f"**/api/jobs/{job['id']}/items/?*", read_then_assign)
    page.get_by_role("tab", name="All statuses").click()
    expect(tile(page, first).locator(".assignee")).to_have_text("✎ bob")  # the frame, during the read
    route, older = held[0]
    route.fulfill(response=older)

    expect(page.locator("#grid")).to_have_attribute("data-state", "ready")
    expect(tile(page, first).locator(".assignee")).to_have_text("✎ bob")
