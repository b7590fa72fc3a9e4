"""Label classes: a manager renames and recolours a label class from the labeling page, and every
shape of that class follows."""

from __future__ import annotations

import pytest

from .helpers import api_square, expect, open_item, shape_rows

pytestmark = pytest.mark.browser


def test_renaming_and_recolouring_a_label_class_updates_every_shape(open_page, site, new_job):
    job = new_job()
    item = job["items"][0]
    cat = next(label for label in job["label_classes"] if label["name"] == "cat")
    api_square(site, item["id"], cat["id"], 50, 50, 80)
    api_square(site, item["id"], cat["id"], 250, 150, 80)
    page = open_page("demo")
    open_item(page, site, item["id"])
    expect(shape_rows(page)).to_have_count(2)

    page.get_by_role("button", name="Edit cat").click()
    page.get_by_label("Label name", exact=True).fill("kitten")
    page.get_by_label("Label colour").fill("#ff8800")
    page.get_by_role("button", name="Save label class").click()

    expect(page.locator(f'#class-list [data-label-class-id="{cat["id"]}"]')).to_contain_text("kitten")
    expect(shape_rows(page).filter(has_text="kitten")).to_have_count(2)
    polygons = page.locator(f'#canvas .shape[data-label-class-id="{cat["id"]}"] polygon')
    expect(polygons).to_have_count(2)
    for n in range(2):
        expect(polygons.nth(n)).to_have_attribute("fill", "#ff8800")
    classes = site.api().get(f"/api/jobs/{job['id']}/label-classes/")
    assert {"id": cat["id"], "name": "kitten", "color": "#ff8800", "attributes": []} in classes


def test_a_label_class_changed_by_a_manager_repaints_the_shapes_in_another_persons_page(
    open_page, site, new_job
):
    job = new_job()
    item = job["items"][0]
    dog = next(label for label in job["label_classes"] if label["name"] == "dog")
    api_square(site, item["id"], dog["id"], 60, 60, 90)
    labeler = open_page("ann")
    open_item(labeler, site, item["id"])
    expect(shape_rows(labeler)).to_have_count(1)

    site.api().patch(
        f"/api/jobs/{job['id']}/label-classes/{dog['id']}/", {"name": "puppy", "color": "#00ccff"}
    )

    expect(shape_rows(labeler).filter(has_text="puppy")).to_have_count(1, timeout=1000)
    polygon = labeler.locator(f'#canvas .shape[data-label-class-id="{dog["id"]}"] polygon')
    expect(polygon).to_have_attribute("fill", "#00ccff", timeout=1000)
