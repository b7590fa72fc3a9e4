"""What the browser tests share: opening the labeling page, clicking on image pixels, waiting on state."""

from __future__ import annotations

import json
import mimetypes
import time
import urllib.request
import uuid
from typing import Any

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips the tests, or fails them under CI=true, with the reason
    expect = None


# How long another page may take to show a change live, and the state a page's store holds, folded from
# the events it received (to compare with the server's).
LIVE_MS = 2000
FOLDED_STATE = """() => {
  const s = window.polylogLabel.store.state;
  return {
    seq: s.seq,
    next_number: s.next_number,
    shapes: [...s.shapes.values()].map((x) => ({
      id: x.id, number: x.number, label_class_id: x.label_class_id, points: x.points, group_id: x.group_id,
    })),
  };
}"""


def square(x: float, y: float, size: float) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


def open_item(page: Any, site: Any, item_id: int) -> None:
    """Open the labeling page of an item and wait until its state is loaded and the socket caught up."""
    page.goto(site.url(f"/items/{item_id}/"))
    expect(page.locator("body")).to_have_attribute("data-live", "true")


def client_point(page: Any, x: float, y: float) -> tuple[float, float]:
    """Where the image pixel (x, y) is on screen now."""
    cx, cy = page.evaluate("([x, y]) => window.polylogLabel.renderer.toClient([x, y])", [x, y])
    return cx, cy


def click_image(page: Any, x: float, y: float, **options: Any) -> None:
    page.mouse.click(*client_point(page, x, y), **options)


def settled(page: Any) -> None:
    """Wait until every command this page sent has its answer (no prediction left)."""
    expect(page.locator("body")).to_have_attribute("data-pending", "0")


def choose_label(page: Any, label: str) -> None:
    """Make `label` the active label by its button in the label bar (a selected shape is relabeled)."""
    bar = page.get_by_role("toolbar", name="Active label")
    bar.get_by_role("button", name=label).click()
    expect(bar.locator("button.active")).to_contain_text(label)


def draw_polygon(
    page: Any, points: list[tuple[float, float]], label: str | None = None, *, refused: bool = False
) -> None:
    """Choose `label` in the label bar (None: the active one stays), click the vertices and close on the
    first one: the polygon takes the active label, no picker. With `refused`, the close is expected to be
    refused (the draft stays): nothing is waited for here, the caller checks the refusal."""
    if label is not None:
        choose_label(page, label)
    for x, y in points:
        click_image(page, x, y)
    click_image(page, *points[0])
    if not refused:
        expect(page.locator("#canvas .draft.mine")).to_have_count(0)


def shape_rows(page: Any) -> Any:
    return page.locator("#shape-list .shape-row")


def api_square(site: Any, item_id: int, label_class_id: int, x: float, y: float, size: float) -> str:
    """Put a square on an item through the API (a test's starting point); its shape id."""
    shape_id = str(uuid.uuid4())
    points = square(x, y, size)
    site.api().command(
        item_id,
        {"type": "add_polygon", "shape_id": shape_id, "label_class_id": label_class_id, "points": points},
    )
    return shape_id


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press on image pixel `start`, move to `end` in steps, release."""
    page.mouse.move(*client_point(page, *start))
    page.mouse.down()
    page.mouse.move(*client_point(page, *end), steps=6)
    page.mouse.up()


def shape_points(site: Any, item_id: int) -> list[list[list[float]]]:
    return [s["points"] for s in site.api().get(f"/api/items/{item_id}/state/")["shapes"]]


def label_id(job: dict[str, Any], name: str) -> int:
    """The id of the job's label class called `name`."""
    return next(label["id"] for label in job["label_classes"] if label["name"] == name)


def square_selected_in_edit_tool(
    open_page: Any, site: Any, new_job: Any, x: float, y: float, size: float, *, label: str = "dog"
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A new job's first image with one square on it, opened by demo in the edit tool with the square
    selected (clicked in its middle): (page, job, item)."""
    job = new_job()
    item = job["items"][0]
    api_square(site, item["id"], label_id(job, label), x, y, size)
    page = open_page("demo")
    open_item(page, site, item["id"])
    page.keyboard.press("e")
    click_image(page, x + size / 2, y + size / 2)
    expect(page.locator("#canvas .shape.selected")).to_have_count(1)
    return page, job, item


def upload(api: Any, dataset_id: int, files: dict[str, bytes]) -> None:
    """Add files to a dataset through the API (multipart, each typed by its name) and wait until the import
    says it is done (its own status, not a time)."""
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: {mimetypes.guess_type(name)[0] or 'application/octet-stream'}\r\n\r\n".encode()
            + content
            + b"\r\n"
            for name, content in files.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{api.base_url}/api/datasets/{dataset_id}/imports/",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Token {api.token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=120) as response:
        record = json.loads(response.read())
    deadline = time.monotonic() + 120
    while record["status"] not in ("done", "failed"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the import did not finish: {record}")
        time.sleep(0.2)
        record = next(r for r in api.get(f"/api/datasets/{dataset_id}/imports/") if r["id"] == record["id"])
    if record["status"] != "done":
        raise RuntimeError(f"the import failed: {record}")
