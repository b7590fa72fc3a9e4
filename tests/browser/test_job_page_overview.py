"""The job page at a glance: thumbnails wear their image's shapes and follow changes made elsewhere, badges
say "N shapes", the action bar fits on one row at 1280 px, files dropped on Add data upload with a bar each
and a total and end in the grid, and a role sees no control it can never use."""

from __future__ import annotations

import base64
import io
import random
import re
import uuid

import pytest

from .conftest import ARTIFACTS
from .helpers import api_square, expect, label_id

pytestmark = pytest.mark.browser

# The overlay's SVG as the page's own session fetches it: its polygons, counted.
POLYGONS = """async (src) => {
  const text = await (await fetch(src)).text();
  return new DOMParser().parseFromString(text, 'image/svg+xml').querySelectorAll('polygon').length;
}"""


def grid_ready(page) -> None:
    expect(page.locator("#grid")).to_have_attribute("data-state", "ready")


def tile(page, item_id: int):
    return page.locator(f'#grid .tile[data-item-id="{item_id}"]')


def overlay_loaded(page, item_id: int) -> None:
    """The tile's overlay image loaded and decoded (an SVG the browser refused would have no size)."""
    overlay = tile(page, item_id).locator("img.overlay")
    overlay.scroll_into_view_if_needed()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=overlay.element_handle())


def test_thumbnails_show_the_shapes_and_follow_a_shape_added_elsewhere(open_page, site, new_job):
    job = new_job()
    first, second = job["items"][0]["id"], job["items"][1]["id"]
    cat, dog = label_id(job, "cat"), label_id(job, "dog")
    api_square(site, first, cat, 40, 40, 120)
    api_square(site, first, dog, 300, 200, 100)

    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_ready(page)
    overlay_loaded(page, first)
    overlay = tile(page, first).locator("img.overlay")
    seq = site.api().get(f"/api/jobs/{job['id']}/items/?status=all&page_size=2")["results"][0]["seq"]
    src = overlay.get_attribute("src")
    assert src.startswith(f"/api/items/{first}/overlay.svg?seq={seq}&")
    assert page.evaluate(POLYGONS, src) == 2
    # It lies exactly on the thumbnail: the same box and the same fit.
    thumbnail = tile(page, first).locator("img:not(.overlay)")
    assert overlay.bounding_box() == thumbnail.bounding_box()
    assert overlay.evaluate("(img) => getComputedStyle(img).objectFit") == "cover"
    assert overlay.get_attribute("alt") == ""

    # Badges: the shape count in words, a dot per label present, named by its title.
    expect(tile(page, first).locator(".shapes")).to_have_text("2 shapes")
    expect(tile(page, second).locator(".shapes")).to_have_text("No shapes")
    expect(tile(page, first).locator(".dot")).to_have_count(2)
    expect(tile(page, first).locator('.dot[title="cat"]')).to_have_count(1)
    expect(tile(page, first).get_by_role("img", name="dog")).to_have_count(1)
    overlay_loaded(page, second)
    assert page.evaluate(POLYGONS, tile(page, second).locator("img.overlay").get_attribute("src")) == 0

    # Someone else draws on the first image: its tile's overlay gets a new URL with one more polygon.
    site.api("ann").command(
        first,
        {
            "type": "add_polygon",
            "shape_id": str(uuid.uuid4()),
            "label_class_id": cat,
            "points": [[400, 40], [500, 40], [450, 140]],
        },
    )
    after = site.api().get(f"/api/items/{first}/state/")["seq"]
    expect(overlay).to_have_attribute(
        "src", f"/api/items/{first}/overlay.svg?seq={after}&" + src.split("&", 1)[1]
    )
    overlay_loaded(page, first)
    assert page.evaluate(POLYGONS, overlay.get_attribute("src")) == 3
    expect(tile(page, first).locator(".shapes")).to_have_text("3 shapes")
    assert len(site.api().get(f"/api/items/{first}/state/")["shapes"]) == 3


def test_one_shape_is_said_in_the_singular(open_page, site, new_job):
    job = new_job()
    first = job["items"][0]["id"]
    api_square(site, first, label_id(job, "bird"), 10, 10, 50)

    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_ready(page)

    expect(tile(page, first).locator(".shapes")).to_have_text("1 shape")


def test_the_action_bar_fits_on_one_row_at_1280_px(open_page, site, new_job):
    job = new_job()
    page = open_page("demo", viewport=(1280, 800))
    page.goto(site.url(f"/jobs/{job['id']}/"))
    grid_ready(page)

    bar = page.locator(".actions-bar")
    controls = [
        bar.get_by_label("Select images on current page"),
        bar.get_by_role("button", name="Mark hard example", exact=True),
        bar.get_by_role("button", name="Unmark hard example"),
        bar.get_by_role("button", name="Delete", exact=True),
        bar.get_by_role("button", name="Synchronize new data"),
        bar.get_by_role("button", name="Add data"),
        bar.get_by_label("Export format"),
        bar.get_by_role("link", name="Export"),
    ]
    for selection in ("none", "the whole page"):
        if selection == "the whole page":
            bar.get_by_label("Select images on current page").check()
            expect(page.locator("#selection-count")).to_have_text("24 selected")
        boxes = []
        for control in controls:
            expect(control).to_be_visible()
            boxes.append(control.bounding_box())
        row_top = min(box["y"] for box in boxes)
        row_bottom = min(box["y"] + box["height"] for box in boxes)
        assert all(box["y"] < row_bottom and box["y"] + box["height"] > row_top for box in boxes), (
            selection,
            boxes,
        )
        assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes)  # in reading order
        assert bar.bounding_box()["height"] < 2 * max(box["height"] for box in boxes), selection


def noise_png(width: int, height: int, seed: int) -> bytes:
    """A PNG that does not compress: uploading it takes its size in bytes."""
    from PIL import Image

    rng = random.Random(seed)
    picture = Image.frombytes(
        "RGB", (width, height), bytes(rng.getrandbits(8) for _ in range(width * height * 3))
    )
    data = io.BytesIO()
    picture.save(data, format="PNG")
    return data.getvalue()


# Files handed to the page as a DataTransfer, as a drag from the desktop brings them.
DRAG = """([type, selector, files]) => {
  const transfer = new DataTransfer();
  for (const [name, data] of files) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type: 'image/png' }));
  }
  document.querySelector(selector).dispatchEvent(
    new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }),
  );
}"""

# Every text the total line shows, kept as it changes.
WATCH_TOTAL = """() => {
  window.totals = [];
  const line = document.querySelector('#add-data-dialog .upload-total');
  new MutationObserver(() => window.totals.push(line.textContent)).observe(line, { childList: true, characterData: true, subtree: true });
}"""


def test_files_dropped_on_add_data_upload_with_progress_and_end_in_the_grid(open_page, site, tmp_path):
    api = site.api()
    dataset = api.post("/api/datasets/", {"name": f"Dropped {uuid.uuid4().hex[:6]}"})
    job = api.post("/api/jobs/", {"name": f"Drop job {uuid.uuid4().hex[:6]}", "dataset": dataset["id"]})
    files = [(f"drop_{n}.png", base64.b64encode(noise_png(160, 120, n)).decode()) for n in range(3)]

    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_ready(page)
    dialog = page.locator("#add-data-dialog")

    # Files dragged onto the page open the dialog; dropped on its zone, they are listed with a bar each.
    page.evaluate(DRAG, ["dragenter", "#grid", files])
    expect(dialog).to_be_visible()
    page.evaluate(DRAG, ["drop", "#add-data-dialog .drop-zone", files])
    expect(dialog.locator(".upload-files li")).to_have_count(3)
    expect(dialog.locator(".drop-summary")).to_contain_text("3 files chosen")
    expect(dialog.locator(".upload-files li").first).to_contain_text("drop_0.png")

    # A slow line, so that the upload is seen going (Chromium throttles the page's own requests).
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 64 * 1024},
    )
    page.evaluate(WATCH_TOTAL)
    dialog.get_by_role("button", name="Import").click()
    expect(dialog.locator(".upload-total")).to_have_text(re.compile(r"^[12] of 3 files sent"))
    page.screenshot(path=str(ARTIFACTS / "job_page_upload_in_progress.png"))
    expect(dialog).to_have_attribute("data-state", "done", timeout=30_000)
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    totals = page.evaluate("window.totals")
    assert any(
        text.startswith(("0 of 3 files sent", "1 of 3 files sent", "2 of 3 files sent")) for text in totals
    ), totals
    assert any(
        text.startswith("1 of 3 files sent") or text.startswith("2 of 3 files sent") for text in totals
    ), totals
    expect(dialog.locator(".upload-total")).to_contain_text("3 of 3 files sent")
    for bar in dialog.locator(".upload-files progress").all():
        assert bar.evaluate("(bar) => bar.value === bar.max")
    expect(dialog.locator(".progress-line")).to_contain_text("done")
    expect(dialog.locator(".progress-line")).to_contain_text("3 added")

    # The list and the picker start empty again: a second Import sends nothing and says so.
    expect(dialog.locator(".drop-summary")).to_have_text("No file chosen.")
    assert dialog.get_by_label("Files", exact=True).evaluate("(input) => input.files.length") == 0
    dialog.get_by_role("button", name="Import").click()
    expect(dialog.locator(".error")).to_contain_text("Choose the files to upload")
    imports = api.get(f"/api/datasets/{dataset['id']}/imports/")
    assert len(imports) == 1 and imports[0]["added"] == 3

    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("#grid .tile")).to_have_count(3)
    names = [item["image"]["name"] for item in api.get(f"/api/jobs/{job['id']}/items/?status=all")["results"]]
    assert sorted(names) == ["drop_0.png", "drop_1.png", "drop_2.png"]


def test_the_picker_adds_to_the_list_and_is_reset_after_an_import(open_page, site, tmp_path):
    api = site.api()
    dataset = api.post("/api/datasets/", {"name": f"Picked {uuid.uuid4().hex[:6]}"})
    job = api.post("/api/jobs/", {"name": f"Pick job {uuid.uuid4().hex[:6]}", "dataset": dataset["id"]})
    paths = []
    for n in range(2):
        path = tmp_path / f"picked_{n}.png"
        path.write_bytes(noise_png(40, 30, 10 + n))
        paths.append(str(path))

    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_ready(page)
    page.get_by_role("button", name="Add data").click()
    dialog = page.locator("#add-data-dialog")
    dialog.get_by_label("Files", exact=True).set_input_files(paths[:1])
    dialog.get_by_label("Files", exact=True).set_input_files(paths[1:])
    expect(dialog.locator(".upload-files li")).to_have_count(2)
    dialog.get_by_role("button", name="Import").click()
    expect(dialog.locator(".progress-line")).to_contain_text("2 added")
    expect(dialog).to_have_attribute("data-state", "done")

    expect(dialog.locator(".drop-summary")).to_have_text("No file chosen.")
    assert dialog.get_by_label("Files", exact=True).evaluate("(input) => input.files.length") == 0
    expect(page.locator("#grid .tile")).to_have_count(2)


def test_an_annotator_sees_no_delete_and_an_auditor_no_control_that_changes_anything(
    open_page, site, new_job
):
    job = new_job(members=("ann",))
    site.api().post(f"/api/jobs/{job['id']}/members/", {"username": "bob", "role": "auditor"})

    annotator = open_page("ann")
    annotator.goto(site.url(f"/jobs/{job['id']}/"))
    grid_ready(annotator)
    expect(annotator.get_by_role("button", name="Mark hard example", exact=True)).to_be_visible()
    annotator.locator("#grid .tile .pick input").first.check()  # above the overlay, so it takes the click
    expect(annotator.locator("#selection-count")).to_have_text("1 selected")
    expect(annotator.get_by_role("button", name="Mark hard example", exact=True)).to_be_enabled()
    for name in ("Delete", "Synchronize new data", "Add data", "Settings"):
        expect(annotator.get_by_role("button", name=name)).to_have_count(0)
    expect(annotator.locator("#delete-images")).to_be_hidden()

    auditor = open_page("bob")
    auditor.goto(site.url(f"/jobs/{job['id']}/"))
    grid_ready(auditor)
    expect(auditor.locator("#grid .tile")).not_to_have_count(0)
    for name in (
        "Mark hard example",
        "Unmark hard example",
        "Delete",
        "Synchronize new data",
        "Add data",
        "Settings",
    ):
        expect(auditor.get_by_role("button", name=name)).to_have_count(0)
    expect(auditor.get_by_role("checkbox", name="Select images on current page")).to_have_count(0)
    expect(auditor.locator("#grid .tile .pick")).to_have_count(0)
    expect(auditor.get_by_role("link", name="Export")).to_be_visible()  # reading stays


@pytest.mark.parametrize("viewport", [(1440, 900), (1280, 800)], ids=["1440x900", "1280x800"])
def test_every_labeled_tile_wears_its_overlay_at_both_sizes(open_page, site, new_job, viewport):
    job = new_job()
    shapes = {}
    for n, item in enumerate(job["items"][:6]):
        for k in range(n % 3 + 1):
            name = ("cat", "dog", "bird")[(n + k) % 3]
            api_square(site, item["id"], label_id(job, name), 60 + 150 * k, 60 + 40 * n, 110)
        shapes[item["id"]] = n % 3 + 1
    site.api().command(job["items"][0]["id"], {"type": "save"})
    site.api().command(job["items"][1]["id"], {"type": "mark_hard_example"})

    page = open_page("demo", viewport=viewport)
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_ready(page)
    for item_id, count in shapes.items():
        overlay_loaded(page, item_id)
        assert (
            page.evaluate(POLYGONS, tile(page, item_id).locator("img.overlay").get_attribute("src")) == count
        )
        expect(tile(page, item_id).locator(".shapes")).to_have_text(
            f"{count} shape{'' if count == 1 else 's'}"
        )
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"job_page_{viewport[0]}x{viewport[1]}.png"))


def test_a_file_the_import_refuses_is_named_in_the_dialog(open_page, site):
    api = site.api()
    dataset = api.post("/api/datasets/", {"name": f"Refused {uuid.uuid4().hex[:6]}"})
    job = api.post("/api/jobs/", {"name": f"Refused job {uuid.uuid4().hex[:6]}", "dataset": dataset["id"]})
    files = [
        ("good.png", base64.b64encode(noise_png(40, 30, 1)).decode()),
        ("broken.png", base64.b64encode(b"not an image at all").decode()),
    ]

    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_ready(page)
    page.get_by_role("button", name="Add data").click()
    dialog = page.locator("#add-data-dialog")
    page.evaluate(DRAG, ["drop", "#add-data-dialog .drop-zone", files])
    dialog.get_by_role("button", name="Import").click()

    expect(dialog).to_have_attribute("data-state", "done")
    expect(dialog.locator(".progress-line")).to_contain_text("1 added")
    expect(dialog.locator(".progress-line")).to_contain_text("1 failed")
    expect(dialog.locator(".error")).to_contain_text("broken.png")
    expect(page.locator("#grid .tile")).to_have_count(1)


def test_a_shape_moved_elsewhere_redraws_that_tile_alone(open_page, site, new_job):
    job = new_job()
    first, second = job["items"][0]["id"], job["items"][1]["id"]
    shape_id = api_square(site, first, label_id(job, "cat"), 40, 40, 120)
    page = open_page("demo")
    page.goto(site.url(f"/jobs/{job['id']}/?status=all"))
    grid_ready(page)
    overlay_loaded(page, first)
    expect(page.locator("#live-status")).to_have_text("live")
    # A mark on the other tile's element: it must be the same element after the change.
    tile(page, second).evaluate("(t) => { t.dataset.untouched = 'yes'; }")
    before = tile(page, first).locator("img.overlay").get_attribute("src")

    # A move changes no badge (still one cat), only the outline the overlay draws.
    site.api("ann").command(first, {"type": "move_shape", "shape_id": shape_id, "dx": 200, "dy": 100})
    seq = site.api().get(f"/api/items/{first}/state/")["seq"]
    overlay = tile(page, first).locator("img.overlay")
    expect(overlay).to_have_attribute("src", re.compile(rf"overlay\.svg\?seq={seq}&"))
    assert overlay.get_attribute("src") != before
    overlay_loaded(page, first)
    moved = page.evaluate(
        """async (src) => {
          const text = await (await fetch(src)).text();
          const polygon = new DOMParser().parseFromString(text, 'image/svg+xml').querySelector('polygon');
          return polygon.getAttribute('points');
        }""",
        overlay.get_attribute("src"),
    )
    assert moved.split()[0] == "240,140"  # the square's first corner, moved by (200, 100)
    expect(tile(page, first).locator(".shapes")).to_have_text("1 shape")
    expect(tile(page, second)).to_have_attribute("data-untouched", "yes")
