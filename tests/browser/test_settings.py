"""Job settings (managers): label classes and members, managed from the job page."""

from __future__ import annotations

import pytest

from .helpers import api_square, expect

pytestmark = pytest.mark.browser


def test_a_manager_manages_label_classes_and_members(open_page, site, new_job):
    job = new_job(members=("ann",))
    cat = next(label for label in job["label_classes"] if label["name"] == "cat")
    api_square(site, job["items"][0]["id"], cat["id"], 10, 10, 50)
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/"))
    page.get_by_role("button", name="Settings").click()
    dialog = page.locator("#settings-dialog")
    expect(dialog.locator("#settings-labels li")).to_have_count(3)

    dialog.get_by_label("New label name").fill("fox")
    dialog.get_by_role("button", name="Add label class").click()
    expect(dialog.locator("#settings-labels li")).to_have_count(4)
    expect(page.locator("#label-counts")).to_contain_text("fox")  # the sidebar follows

    dialog.get_by_label("Name of fox").fill("red fox")
    dialog.locator("#settings-labels li", has=page.get_by_label("Name of fox")).get_by_role(
        "button", name="Save"
    ).click()
    expect(page.locator("#label-counts")).to_contain_text("red fox")

    row = dialog.locator(f'#settings-labels li[data-label-class-id="{cat["id"]}"]')
    row.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete cat and its shapes?")
    expect(confirm).to_contain_text("1 image(s) have shapes labeled 'cat'")
    confirm.get_by_role("button", name="Delete with its shapes").click()
    expect(dialog.locator("#settings-labels li")).to_have_count(3)
    assert site.api().get(f"/api/items/{job['items'][0]['id']}/state/")["shapes"] == []

    dialog.get_by_label("Member username").fill("bob")
    dialog.get_by_label("Member role").select_option("auditor")
    dialog.get_by_role("button", name="Add member").click()
    expect(dialog.locator("#settings-members li[data-username=bob]")).to_be_visible()
    dialog.get_by_label("Role of bob").select_option("annotator")
    expect(dialog.get_by_label("Role of bob")).to_have_value("annotator")
    dialog.get_by_role("button", name="Remove ann").click()
    expect(dialog.locator("#settings-members li[data-username=ann]")).to_have_count(0)
    roles = {m["username"]: m["role"] for m in site.api().get(f"/api/jobs/{job['id']}/members/")}
    assert roles == {"demo": "manager", "bob": "annotator"}

    dialog.get_by_label("Member username").fill("nobody-here")
    dialog.get_by_role("button", name="Add member").click()
    expect(dialog.locator(".error")).to_be_visible()
