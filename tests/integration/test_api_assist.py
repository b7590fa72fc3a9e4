"""POST /api/items/<id>/assist/{scissors,box,wand}/: proposals for those who draw, refusals as {code,
message}, nothing ever written, and the work bounded (rate per person, slots per process) and run in the
request's worker thread, off the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import shapely

from apps.assist import box as box_tool
from apps.assist.images import CACHE
from apps.assist.limits import assist_slot
from apps.labeling.domain.geometry import check_polygon
from tests.assist_images import disc_pixels, iou, png_of
from tests.conftest import new_id

WIDTH, HEIGHT, CENTRE, RADIUS = 240, 180, (120, 90), 50


@pytest.fixture(autouse=True)
def _empty_assist_cache() -> Any:
    CACHE.clear()
    yield
    CACHE.clear()


@pytest.fixture
def disc_item(job: Any) -> Any:
    """An item of the job whose image is a disc drawn on a plain ground (the fixtures' images are flat)."""
    from apps.datasets.services import image_create
    from apps.labeling.services import job_sync

    pixels, _ = disc_pixels(WIDTH, HEIGHT, CENTRE, RADIUS)
    image = image_create(dataset=job.dataset, path="disc.png", content=png_of(pixels))
    job_sync(job=job)
    return job.items.get(image=image)


@pytest.fixture
def disc() -> shapely.Polygon:
    return disc_pixels(WIDTH, HEIGHT, CENTRE, RADIUS)[1]


def url(item: Any, tool: str) -> str:
    return f"/api/items/{item.pk}/assist/{tool}/"


def events() -> int:
    from apps.labeling.models import StoredEvent

    return StoredEvent.objects.count()


def valid(points: list[list[float]]) -> None:
    check_polygon([tuple(p) for p in points], WIDTH, HEIGHT, 1000)


SCISSORS_CLOSE = {"anchors": [[120.5, 39.5], [170.5, 90.5], [120.5, 140.5], [69.5, 90.5]], "close": True}
BOX = {"box": [60, 30, 180, 150]}
WAND = {"point": [120, 90]}


def test_scissors_preview_follows_the_disc_from_the_last_anchor_to_the_pointer(
    annotator_api: Any, disc_item: Any, disc: shapely.Polygon
) -> None:
    body = {"anchors": [[10, 10], [120.5, 39.5]], "pointer": [170.5, 90.5], "tolerance": 0}

    response = annotator_api.post(url(disc_item, "scissors"), body, format="json")

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["open"] is True
    [path] = answer["polygons"]
    assert path["points"][0] == [120.5, 39.5] and path["points"][-1] == [170.5, 90.5]
    assert max(disc.exterior.distance(shapely.Point(p)) for p in path["points"]) < 2.5


def test_scissors_closed_give_a_polygon_that_is_accepted_as_one_add_polygon(
    annotator_api: Any, disc_item: Any, disc: shapely.Polygon, labels: dict[str, Any]
) -> None:
    response = annotator_api.post(url(disc_item, "scissors"), SCISSORS_CLOSE, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["open"] is False
    [proposal] = response.json()["polygons"]
    assert iou(proposal["points"], disc) > 0.93
    command = {"type": "add_polygon", "shape_id": new_id(), "label_class_id": labels["cat"].pk}
    accepted = annotator_api.post(
        f"/api/items/{disc_item.pk}/commands/",
        {"command_id": new_id(), "command": {**command, "points": proposal["points"]}},
        format="json",
    )
    assert accepted.status_code == 201, accepted.json()


def test_box_proposes_the_disc_best_first(manager_api: Any, disc_item: Any, disc: shapely.Polygon) -> None:
    body = {**BOX, "points": [{"x": 120, "y": 90, "label": 1}, {"x": 65, "y": 35, "label": 0}]}

    response = manager_api.post(url(disc_item, "box"), body, format="json")

    assert response.status_code == 200, response.json()
    polygons = response.json()["polygons"]
    assert iou(polygons[0]["points"], disc) > 0.9
    assert [p["score"] for p in polygons] == sorted((p["score"] for p in polygons), reverse=True)
    for polygon in polygons:
        valid(polygon["points"])


def test_wand_proposes_the_disc(staff_api: Any, disc_item: Any, disc: shapely.Polygon) -> None:
    response = staff_api.post(
        url(disc_item, "wand"), {**WAND, "tolerance": 40, "simplify": 0.5}, format="json"
    )

    assert response.status_code == 200, response.json()
    [polygon] = response.json()["polygons"]
    assert iou(polygon["points"], disc) > 0.95
    valid(polygon["points"])


@pytest.mark.parametrize(("tool", "body"), [("scissors", SCISSORS_CLOSE), ("box", BOX), ("wand", WAND)])
def test_auditors_are_refused_and_strangers_told_nothing_is_there(
    tool: str, body: dict[str, Any], disc_item: Any, auditor_api: Any, outsider_api: Any, client_for: Any
) -> None:
    refused = auditor_api.post(url(disc_item, tool), body, format="json")
    hidden = outsider_api.post(url(disc_item, tool), body, format="json")
    missing = outsider_api.post(f"/api/items/{disc_item.pk + 1000}/assist/{tool}/", body, format="json")
    anonymous = client_for(None).post(url(disc_item, tool), body, format="json")

    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    blanked = hidden.json()["message"].replace(str(disc_item.pk), "<id>")
    assert blanked == missing.json()["message"].replace(str(disc_item.pk + 1000), "<id>")
    assert anonymous.status_code == 401


def test_reviewers_are_refused(
    job: Any, disc_item: Any, make_user: Callable[..., Any], client_for: Any
) -> None:
    from apps.labeling.models import Role
    from apps.labeling.services import job_member_set

    reviewer = make_user("rita_reviewer")
    job_member_set(job=job, user=reviewer, role=Role.REVIEWER)

    response = client_for(reviewer).post(url(disc_item, "box"), BOX, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


@pytest.mark.parametrize(
    ("tool", "body", "names"),
    [
        ("scissors", {"anchors": [[1, 1]], "pointer": [241, 1]}, "pointer (241, 1) lies outside the 240x180"),
        ("scissors", {"anchors": [[1, 1]] * 501, "pointer": [1, 1]}, "anchors holds 1 to 500"),
        ("scissors", {"anchors": [[1, 1]]}, "needs the pointer"),
        ("box", {"box": [10, 10, 10, 50]}, "has no area"),
        ("box", {"box": [10, 10, 50, 50], "points": [{"x": 1, "y": 1, "label": 1}] * 51}, "0 to 50"),
        ("box", {"box": "10,10,50,50"}, "box must be [x0, y0, x1, y1], not a string"),
        ("wand", {"point": [1, "1"]}, "point[1] must be a number"),
        ("wand", {"point": [1, 1], "tolerance": 300}, "between 0 and 255"),
        ("wand", [1, 2], "must be a JSON object"),
    ],
)
def test_bad_prompts_are_refused_with_a_message_and_nothing_is_written(
    annotator_api: Any, disc_item: Any, tool: str, body: Any, names: str
) -> None:
    before = events()

    response = annotator_api.post(url(disc_item, tool), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_prompt"
    assert names in response.json()["message"]
    assert events() == before


def test_non_finite_numbers_in_the_body_are_refused(annotator_api: Any, disc_item: Any) -> None:
    response = annotator_api.post(
        url(disc_item, "wand"), data='{"point": [NaN, 1]}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_prompt", "malformed_json")


def test_a_flat_box_has_no_proposal(annotator_api: Any, item: Any) -> None:
    """The fixtures' images are one colour: nothing stands out."""
    response = annotator_api.post(url(item, "box"), {"box": [10, 10, 60, 50]}, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "no_proposal"


def test_a_person_past_the_rate_is_told_to_wait(
    annotator_api: Any, manager_api: Any, disc_item: Any, settings: Any
) -> None:
    settings.POLYLOG_ASSIST_RATE = "2/hour"
    answers = [annotator_api.post(url(disc_item, "wand"), WAND, format="json").status_code for _ in range(3)]
    other = manager_api.post(url(disc_item, "wand"), WAND, format="json")

    refused = annotator_api.post(url(disc_item, "wand"), WAND, format="json")
    assert answers == [200, 200, 429]
    assert refused.json()["code"] == "rate_limited"
    assert other.status_code == 200


def test_with_every_slot_taken_a_request_is_told_the_assistant_is_busy(
    annotator_api: Any, disc_item: Any, settings: Any
) -> None:
    settings.POLYLOG_ASSIST_CONCURRENCY = 1
    settings.POLYLOG_ASSIST_WAIT_SECONDS = 0
    before = events()

    with assist_slot():
        busy = annotator_api.post(url(disc_item, "box"), BOX, format="json")
    after = annotator_api.post(url(disc_item, "box"), BOX, format="json")

    assert (busy.status_code, busy.json()["code"]) == (503, "assist_busy")
    assert after.status_code == 200
    assert events() == before


def test_the_image_is_decoded_once_for_many_proposals(annotator_api: Any, disc_item: Any) -> None:
    for body in ({"point": [120, 90]}, {"point": [5, 5]}, {"point": [200, 20]}):
        assert annotator_api.post(url(disc_item, "wand"), body, format="json").status_code == 200

    assert (CACHE.misses, CACHE.hits) == (1, 2)


def test_a_second_box_reuses_the_images_regions_prepared_for_the_first(
    annotator_api: Any, disc_item: Any, disc: shapely.Polygon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The box's per-image preparation (apps/assist/regions.py) is made on the first box and kept in the
    assist cache beside the decoded image; a second box on the image takes both from there."""
    from apps.assist import regions
    from apps.assist.images import image_key

    prepared = []
    prepare = regions.prepare
    monkeypatch.setattr(regions, "prepare", lambda *a, **k: prepared.append(k) or prepare(*a, **k))
    wide = {"box": [20, 10, 220, 170]}  # large enough for the image's regions (a small box makes its own)

    first = annotator_api.post(url(disc_item, "box"), wide, format="json")
    second = annotator_api.post(url(disc_item, "box"), {"box": [30, 20, 210, 165]}, format="json")

    assert first.status_code == second.status_code == 200
    assert prepared == [{}]  # the image's regions, once; no box made its own
    assert ("regions", image_key(disc_item.image)) in CACHE
    assert (CACHE.misses, CACHE.hits) == (2, 2)  # image and regions missed once, then both found
    assert iou(second.json()["polygons"][0]["points"], disc) > 0.9


def test_a_small_box_makes_regions_of_its_own_and_leaves_the_images_unprepared(
    annotator_api: Any, disc_item: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A box whose crop is small gets its own finer regions (box.py); preparing the whole image's for it
    would be work it does not use."""
    from apps.assist import regions
    from apps.assist.images import image_key

    prepared = []
    prepare = regions.prepare
    monkeypatch.setattr(regions, "prepare", lambda *a, **k: prepared.append(k) or prepare(*a, **k))

    response = annotator_api.post(url(disc_item, "box"), BOX, format="json")  # a 144x144 px crop

    assert response.status_code == 200
    assert prepared == [{"cell": box_tool.CROP_CELL}]  # the crop's own, not the image's
    assert ("regions", image_key(disc_item.image)) not in CACHE


def test_a_cache_too_small_for_the_image_keeps_nothing_and_still_answers(
    annotator_api: Any, disc_item: Any, settings: Any
) -> None:
    settings.POLYLOG_ASSIST_CACHE_MB = 0.01  # 10 KiB: the image is 127 KiB decoded

    response = annotator_api.post(url(disc_item, "wand"), WAND, format="json")

    assert response.status_code == 200
    assert len(CACHE) == 0 and CACHE.bytes == 0


def test_the_tools_are_in_the_api_schema_with_their_bodies_and_answers(client_for: Any) -> None:
    schema = client_for(None).get("/api/schema/?format=json").json()

    for tool in ("scissors", "box", "wand"):
        operation = schema["paths"][f"/api/items/{{item_id}}/assist/{tool}/"]["post"]
        assert "application/json" in operation["requestBody"]["content"]
        assert {"200", "400", "401", "403", "404", "422", "429", "503"} <= set(operation["responses"])
    scissors = schema["paths"]["/api/items/{item_id}/assist/scissors/"]["post"]
    answer = scissors["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][answer]["properties"]) == {"polygons", "open"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_under_asgi_the_work_runs_in_a_worker_thread_not_on_the_event_loop(
    disc_item: Any, annotator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels.db import database_sync_to_async
    from channels.testing import HttpCommunicator
    from django.db import connections

    from apps.accounts.tokens import token_create
    from config.asgi import application

    loop_thread = threading.get_ident()
    seen: list[tuple[int, bool]] = []
    propose = box_tool.box_proposals

    def watched(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_a_loop = True
        except RuntimeError:
            on_a_loop = False
        seen.append((threading.get_ident(), on_a_loop))
        return propose(*args, **kwargs)

    monkeypatch.setattr(box_tool, "box_proposals", watched)
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    token = (await database_sync_to_async(token_create)(user=annotator)).token
    content = json.dumps(BOX).encode()
    request = HttpCommunicator(
        application,
        "POST",
        url(disc_item, "box"),
        body=content,
        headers=[
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            (b"authorization", f"Token {token}".encode()),
        ],
    )
    try:
        response = await request.get_response(timeout=30)
    finally:
        await database_sync_to_async(connections.close_all)()

    assert response["status"] == 200, response["body"]
    assert len(seen) == 1
    assert seen[0][0] != loop_thread and seen[0][1] is False


@pytest.mark.parametrize(("width", "height"), [(60, 1), (1, 60), (1, 1)])
def test_a_box_over_an_image_one_pixel_high_or_wide_is_answered_not_a_server_error(
    annotator_api: Any, job: Any, width: int, height: int
) -> None:
    import numpy as np

    from apps.datasets.services import image_create
    from apps.labeling.services import job_sync

    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : max(1, width // 2)] = 250
    image = image_create(dataset=job.dataset, path="thin.png", content=png_of(pixels))
    job_sync(job=job)
    item = job.items.get(image=image)

    response = annotator_api.post(url(item, "box"), {"box": [0, 0, width, height]}, format="json")

    assert (response.status_code, response.json()["code"]) == (422, "no_proposal")
