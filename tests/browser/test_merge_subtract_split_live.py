"""Someone else merges, cuts and splits shapes on the image a page is watching: the page folds each event
itself (frontend/static/polylog/label/store.js) to the state the server has, new parts numbered as the
server numbers them, and lists the shapes that result."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .helpers import FOLDED_STATE, LIVE_MS, expect, label_id, open_item, shape_rows, square

pytestmark = pytest.mark.browser


def as_folded(server: dict[str, Any]) -> dict[str, Any]:
    """The server's state in the form the page's store keeps it (a shape without a group has null)."""
    shapes = sorted(
        ({**s, "group_id": s.get("group_id")} for s in server["shapes"]), key=lambda s: s["number"]
    )
    return {"seq": server["seq"], "next_number": server["next_number"], "shapes": shapes}


def folded(page: Any, seq: int) -> dict[str, Any]:
    page.wait_for_function("seq => window.polylogLabel.store.state.seq === seq", arg=seq, timeout=LIVE_MS)
    state = page.evaluate(FOLDED_STATE)
    state["shapes"].sort(key=lambda s: s["number"])
    return state


def test_a_merge_a_cut_and_a_split_by_someone_else_show_in_the_page_as_the_server_has_them(
    open_page: Any, site: Any, new_job: Any
) -> None:
    job = new_job()
    item_id = job["items"][0]["id"]
    cat, dog = label_id(job, "cat"), label_id(job, "dog")
    page = open_page("demo")
    open_item(page, site, item_id)
    ann = site.api("ann")
    a, b, bar = (str(uuid.uuid4()) for _ in range(3))
    for shape_id, label, points in [
        (a, cat, square(10, 10, 20)),
        (b, cat, square(20, 20, 20)),
        (bar, dog, [[0, 18], [60, 18], [60, 22], [0, 22]]),
    ]:
        ann.command(
            item_id, {"type": "add_polygon", "shape_id": shape_id, "label_class_id": label, "points": points}
        )
    expect(shape_rows(page)).to_have_count(3, timeout=LIVE_MS)

    ann.command(item_id, {"type": "merge_shapes", "shape_ids": [a, b], "into": a})
    expect(shape_rows(page)).to_have_count(2, timeout=LIVE_MS)
    ann.command(item_id, {"type": "subtract_shape", "shape_id": a, "by": bar})
    ann.command(
        item_id, {"type": "split_shape", "shape_id": bar, "line": [[35, 0], [35, 40], [45, 40], [45, 0]]}
    )

    expect(shape_rows(page)).to_have_count(5, timeout=LIVE_MS)
    server = site.api().get(f"/api/items/{item_id}/state/")
    assert folded(page, server["seq"]) == as_folded(server)
    assert [s["number"] for s in server["shapes"]] == [1, 3, 4, 5, 6]

    ann.command(item_id, {"type": "undo"})  # the split: the bar is whole again
    expect(shape_rows(page)).to_have_count(3, timeout=LIVE_MS)
    server = site.api().get(f"/api/items/{item_id}/state/")
    assert folded(page, server["seq"]) == as_folded(server)
