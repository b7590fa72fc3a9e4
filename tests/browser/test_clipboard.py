"""Copy and paste on the labeling page (issue 19 point 5), as a person uses them: Ctrl+C / Ctrl+V on one
image (the copies 10 px aside, in a group of their own, one paste_shapes and one undo for all of them), a
paste onto a smaller image of the job (the copies moved, and scaled down when bigger, to fit it), and
"carry to next image" (Shift+N). Each checks the server's state after."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from .helpers import click_image, drag, expect, label_id, open_item, settled, shape_rows, square, upload

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def add(site: Any, item_id: int, label: int, points: list[list[float]], group_id: str | None = None) -> str:
    """A shape put there by ann (not by demo, whose page then has nothing of its own to save)."""
    shape_id = str(uuid.uuid4())
    command = {"type": "add_polygon", "shape_id": shape_id, "label_class_id": label, "points": points}
    if group_id:
        command["group_id"] = group_id
    site.api("ann").command(item_id, command)
    return shape_id


def state_of(site: Any, item_id: int) -> dict[str, Any]:
    return site.api().get(f"/api/items/{item_id}/state/")


def event_types(site: Any, item_id: int) -> list[str]:
    return [e["type"] for e in site.api().get(f"/api/items/{item_id}/events/?after=0&limit=100")["results"]]


def pick(page: Any, *centres: tuple[float, float]) -> None:
    """In the edit tool: click the first shape, Shift+click the others (the last is the selected one)."""
    page.keyboard.press("e")
    click_image(page, *centres[0])
    page.keyboard.down("Shift")
    for centre in centres[1:]:
        click_image(page, *centre)
    page.keyboard.up("Shift")


def test_ctrl_c_ctrl_v_pastes_the_picked_shapes_beside_them_as_one_action(open_page, site, new_job):
    job = new_job()
    item_id = job["items"][0]["id"]
    cat, dog = label_id(job, "cat"), label_id(job, "dog")
    a = add(site, item_id, cat, square(100, 100, 80), "g1")
    b = add(site, item_id, dog, square(300, 100, 60), "g1")
    add(site, item_id, cat, square(450, 300, 40))  # not picked: not copied
    page = open_page("demo")
    open_item(page, site, item_id)
    pick(page, (140, 140), (330, 130))

    page.keyboard.press("Control+c")
    expect(page.locator("#notices")).to_contain_text("Copied 2 shapes")
    page.keyboard.press("Control+v")
    settled(page)

    shapes = state_of(site, item_id)["shapes"]
    assert len(shapes) == 5
    copies = shapes[3:]
    assert [(s["label_class_id"], s["points"], s["number"]) for s in copies] == [
        (cat, square(110, 110, 80), 4),
        (dog, square(310, 110, 60), 5),
    ]
    # The copies are one object of their own, not parts of the one they came from.
    assert copies[0]["group_id"] == copies[1]["group_id"] not in (None, "g1")
    assert {s["id"] for s in copies}.isdisjoint({a, b})
    assert event_types(site, item_id)[-1] == "shapes_pasted"
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)  # the copies are the selection now
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "clipboard-pasted.png"))

    page.keyboard.press("Control+v")  # again: 10 px further
    settled(page)
    assert [s["points"][0] for s in state_of(site, item_id)["shapes"][5:]] == [[120, 120], [320, 120]]

    page.keyboard.press("Control+z")  # the second paste, whole
    settled(page)
    assert len(state_of(site, item_id)["shapes"]) == 5
    page.keyboard.press("Control+z")  # the first
    settled(page)
    assert [s["id"] for s in state_of(site, item_id)["shapes"]][:2] == [a, b]
    assert len(state_of(site, item_id)["shapes"]) == 3
    expect(shape_rows(page)).to_have_count(3)


# A job over two images of different sizes ----------------------------------------------------------


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(data, format="PNG")
    return data.getvalue()


def job_of_two_sizes(site: Any) -> dict[str, Any]:
    api = site.api()
    dataset = api.post("/api/datasets/", {"name": f"Two sizes {uuid.uuid4().hex[:8]}"})
    upload(
        api,
        dataset["id"],
        {"big.png": png(640, 480, (200, 200, 180)), "small.png": png(200, 150, (180, 200, 220))},
    )
    job = api.post(
        "/api/jobs/",
        {
            "name": f"Clipboard {uuid.uuid4().hex[:8]}",
            "dataset": dataset["id"],
            "label_classes": [{"name": "cat", "color": "#e6194b"}],
        },
    )
    api.post(f"/api/jobs/{job['id']}/members/", {"username": "ann", "role": "annotator"})
    job["items"] = api.get(f"/api/jobs/{job['id']}/items/?page_size=500&ordering=id")["results"]
    return job


def fitted(shapes: list[list[list[float]]], width: float, height: float) -> list[list[list[float]]]:
    """Where clipboard.js puts copies on a width x height image: scaled down to fit if bigger, then moved
    as a whole to lie on it (its `placed`, with no shift)."""
    xs = [x for points in shapes for x, _ in points]
    ys = [y for points in shapes for _, y in points]
    left, top = min(xs), min(ys)
    scale = min(1, width / (max(xs) - left), height / (max(ys) - top))
    x0 = min(max(left, 0), width - (max(xs) - left) * scale)
    y0 = min(max(top, 0), height - (max(ys) - top) * scale)
    return [[[x0 + (x - left) * scale, y0 + (y - top) * scale] for x, y in points] for points in shapes]


def close_to(got: list[list[list[float]]], want: list[list[list[float]]]) -> bool:
    return all(
        abs(g - w) <= 0.011
        for gp, wp in zip(got, want, strict=True)
        for gv, wv in zip(gp, wp, strict=True)
        for g, w in zip(gv, wv, strict=True)
    )


def test_a_paste_on_a_smaller_image_of_the_job_moves_and_scales_the_copies_to_fit_it(open_page, site):
    job = job_of_two_sizes(site)
    big, small = sorted(job["items"], key=lambda i: -i["image"]["width"])
    assert (small["image"]["width"], small["image"]["height"]) == (200, 150)
    cat = label_id(job, "cat")
    page = open_page("demo")

    # One shape that fits the small image (it is moved onto it) ...
    add(site, big["id"], cat, square(400, 300, 120))
    open_item(page, site, big["id"])
    pick(page, (460, 360))
    page.keyboard.press("Control+c")
    open_item(page, site, small["id"])  # another page load: the clipboard is kept for the job
    page.keyboard.press("Control+v")
    settled(page)
    [moved] = state_of(site, small["id"])["shapes"]
    assert moved["points"] == square(80, 30, 120)  # moved left and up to the border, not cut

    # ... and a selection bigger than it (scaled down, evenly, then moved).
    wide = [[50, 50], [350, 50], [350, 100], [50, 100]]
    add(site, big["id"], cat, wide)
    open_item(page, site, big["id"])
    pick(page, (460, 360), (200, 75))
    page.keyboard.press("Control+c")
    open_item(page, site, small["id"])
    page.keyboard.press("Control+v")
    settled(page)
    pasted = [s["points"] for s in state_of(site, small["id"])["shapes"][1:]]
    assert close_to(pasted, fitted([square(400, 300, 120), wide], 200, 150))
    assert all(0 <= x <= 200 and 0 <= y <= 150 for points in pasted for x, y in points)
    assert event_types(site, small["id"])[-1] == "shapes_pasted"
    page.keyboard.press("Control+z")  # both copies in one undo
    settled(page)
    assert len(state_of(site, small["id"])["shapes"]) == 1


def test_carry_to_next_image_copies_goes_next_and_pastes_there(open_page, site, new_job):
    job = new_job()
    first = job["items"][0]["id"]
    cat = label_id(job, "cat")
    add(site, first, cat, square(200, 150, 100))
    page = open_page("demo")
    open_item(page, site, first)
    expect(page.locator("body")).to_have_attribute("data-strip", "ready")
    pick(page, (250, 200))

    page.keyboard.press("Shift+N")

    page.wait_for_url(lambda url: f"/items/{first}/" not in url)
    expect(page.locator("body")).to_have_attribute("data-live", "true")
    settled(page)
    next_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    assert next_id in [i["id"] for i in job["items"]]
    [carried] = state_of(site, next_id)["shapes"]
    assert (carried["label_class_id"], carried["points"]) == (cat, square(200, 150, 100))  # same place
    assert event_types(site, next_id) == ["shapes_pasted"]
    assert len(state_of(site, first)["shapes"]) == 1  # the first image keeps its shape
    expect(shape_rows(page)).to_have_count(1)

    page.reload()  # a later page load does not paste again
    expect(page.locator("body")).to_have_attribute("data-live", "true")
    settled(page)
    assert len(state_of(site, next_id)["shapes"]) == 1


def test_carry_with_changes_of_my_own_asks_first_and_cancel_stays_and_pastes_nothing(
    open_page, site, new_job
):
    job = new_job()
    first = job["items"][0]["id"]
    cat = label_id(job, "cat")
    page = open_page("demo")
    open_item(page, site, first)
    expect(page.locator("body")).to_have_attribute("data-strip", "ready")
    page.keyboard.press("b")  # a rectangle of my own: a change since the last save
    drag(page, (100, 100), (220, 200))
    settled(page)
    pick(page, (160, 150))

    page.keyboard.press("Shift+N")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Save?")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert f"/items/{first}/" in page.url  # stayed
    settled(page)
    assert len(state_of(site, first)["shapes"]) == 1  # nothing pasted here

    page.keyboard.press("Shift+N")  # again, and Yes saves this image and carries the box on
    page.get_by_role("dialog").get_by_role("button", name="Yes", exact=True).click()
    page.wait_for_url(lambda url: f"/items/{first}/" not in url)
    expect(page.locator("body")).to_have_attribute("data-live", "true")
    settled(page)
    next_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    [carried] = state_of(site, next_id)["shapes"]
    assert (carried["label_class_id"], carried["points"]) == (
        cat,
        [[100, 100], [220, 100], [220, 200], [100, 200]],
    )
    assert state_of(site, first)["saved_seq"] == state_of(site, first)["seq"]  # Yes saved it
    assert event_types(site, next_id) == ["shapes_pasted"]  # one paste, not one per Shift+N


def test_an_auditor_copies_but_neither_pastes_nor_carries(open_page, site, new_job):
    job = new_job()
    item_id = job["items"][0]["id"]
    add(site, item_id, label_id(job, "cat"), square(200, 150, 100))
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "bob", "role": "auditor"})
    page = open_page("bob")
    open_item(page, site, item_id)
    expect(page.locator("body")).to_have_attribute("data-strip", "ready")
    expect(page.get_by_role("button", name="Paste")).to_be_disabled()
    expect(page.get_by_role("button", name="Carry to next image")).to_be_disabled()
    pick(page, (250, 200))

    page.keyboard.press("Control+c")
    expect(page.locator("#notices")).to_contain_text("Copied 1 shape")
    page.keyboard.press("Control+v")
    expect(page.locator("#notices")).to_contain_text("may look but not label")
    page.keyboard.press("Shift+N")

    expect(page.locator("#notices")).to_contain_text("nothing is carried")
    assert f"/items/{item_id}/" in page.url  # stayed
    settled(page)
    assert event_types(site, item_id) == ["polygon_added"]
