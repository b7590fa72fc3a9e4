"""POST /api/items/<id>/assist/box/prepare/: the image's regions made ahead, in the background, so that the
first box on the image does not wait for them (apps/assist/warm.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.assist import warm
from apps.assist.images import CACHE, image_key
from tests.assist_images import disc_pixels, png_of

WIDTH, HEIGHT = 240, 180


@pytest.fixture(autouse=True)
def _empty_assist_cache() -> Any:
    CACHE.clear()
    yield
    CACHE.clear()


@pytest.fixture
def disc_item(job: Any) -> Any:
    from apps.datasets.services import image_create
    from apps.labeling.services import job_sync

    pixels, _ = disc_pixels(WIDTH, HEIGHT, (120, 90), 50)
    image = image_create(dataset=job.dataset, path="disc.png", content=png_of(pixels))
    job_sync(job=job)
    return job.items.get(image=image)


def url(item: Any) -> str:
    return f"/api/items/{item.pk}/assist/box/prepare/"


def prepared(item: Any) -> bool:
    return ("regions", image_key(item.image)) in CACHE


def settle(item: Any) -> None:
    """Wait for the background work on the item's image, if any is under way."""
    _, pending = warm.prepare_regions(item.image) if not prepared(item) else ("ready", None)
    if pending is not None:
        pending.result(timeout=30)


def test_the_regions_are_cached_after_it_and_the_first_box_finds_them(
    annotator_api: Any, disc_item: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.assist import regions

    made = []
    prepare = regions.prepare
    monkeypatch.setattr(regions, "prepare", lambda *a, **k: made.append(k) or prepare(*a, **k))
    assert not prepared(disc_item)

    response = annotator_api.post(url(disc_item), {}, format="json")
    settle(disc_item)
    again = annotator_api.post(url(disc_item), format="json")  # no body at all is fine too
    box = annotator_api.post(
        f"/api/items/{disc_item.pk}/assist/box/", {"box": [20, 10, 220, 170]}, format="json"
    )

    assert (response.status_code, response.json()["regions"]) == (202, "preparing")
    assert prepared(disc_item)
    assert (again.status_code, again.json()) == (202, {"regions": "ready"})
    assert box.status_code == 200
    assert made == [{}]  # the image's regions once, ahead; the box used them


def test_an_image_being_prepared_is_not_queued_twice(disc_item: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from apps.assist import regions

    started, release, made = threading.Event(), threading.Event(), []
    prepare = regions.prepare

    def slow(*args: Any, **kwargs: Any) -> Any:
        made.append(kwargs)
        started.set()
        release.wait(10)
        return prepare(*args, **kwargs)

    monkeypatch.setattr(regions, "prepare", slow)
    first, pending = warm.prepare_regions(disc_item.image)
    started.wait(10)
    second, same = warm.prepare_regions(disc_item.image)
    release.set()
    assert pending is not None
    pending.result(timeout=30)

    assert (first, second) == ("preparing", "preparing")
    assert same is pending
    assert made == [{}]
    assert prepared(disc_item)


@pytest.mark.parametrize("body", [[], "box", 3])
def test_a_body_that_is_not_an_object_is_refused(annotator_api: Any, disc_item: Any, body: Any) -> None:
    response = annotator_api.post(url(disc_item), body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_prompt")
    assert "must be a JSON object" in response.json()["message"]
    assert not prepared(disc_item)


def test_fields_are_ignored_as_elsewhere_in_the_api(annotator_api: Any, disc_item: Any) -> None:
    response = annotator_api.post(url(disc_item), {"box": [1, 2, 3, 4]}, format="json")
    settle(disc_item)

    assert response.status_code == 202
    assert prepared(disc_item)


def test_auditors_and_reviewers_are_refused_and_strangers_told_nothing_is_there(
    job: Any,
    disc_item: Any,
    auditor_api: Any,
    outsider_api: Any,
    make_user: Callable[..., Any],
    client_for: Any,
) -> None:
    from apps.labeling.models import Role
    from apps.labeling.services import job_member_set

    reviewer = make_user("rita_reviewer")
    job_member_set(job=job, user=reviewer, role=Role.REVIEWER)

    answers = [
        (r.status_code, r.json()["code"])
        for r in (
            auditor_api.post(url(disc_item), {}, format="json"),
            client_for(reviewer).post(url(disc_item), {}, format="json"),
            outsider_api.post(url(disc_item), {}, format="json"),
        )
    ]

    assert answers == [(403, "permission_denied"), (403, "permission_denied"), (404, "not_found")]
    assert client_for(None).post(url(disc_item), {}, format="json").status_code == 401
    assert not prepared(disc_item)


def test_it_counts_toward_the_persons_rate(annotator_api: Any, disc_item: Any, settings: Any) -> None:
    settings.POLYLOG_ASSIST_RATE = "2/hour"

    answers = [annotator_api.post(url(disc_item), {}, format="json").status_code for _ in range(2)]
    settle(disc_item)
    refused = annotator_api.post(
        f"/api/items/{disc_item.pk}/assist/wand/", {"point": [120, 90]}, format="json"
    )

    assert answers == [202, 202]
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")


def test_it_is_in_the_api_schema(client_for: Any) -> None:
    schema = client_for(None).get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/items/{item_id}/assist/box/prepare/"]["post"]
    assert {"202", "400", "401", "403", "404", "429"} <= set(operation["responses"])


def test_the_images_waiting_are_bounded_and_the_oldest_not_started_is_dropped(
    job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages stepping through many images with the box tool chosen queue one preparation each: past
    PENDING_MAX pending, the one asked for longest ago and not yet started is dropped, the one being made
    finishes, and the newest are made."""
    import threading

    from apps.assist import regions
    from apps.datasets.services import image_create
    from apps.labeling.services import job_sync

    pixels, _ = disc_pixels(WIDTH, HEIGHT, (120, 90), 50)
    images = [
        image_create(dataset=job.dataset, path=f"disc_{n}.png", content=png_of(pixels + n)) for n in range(6)
    ]
    job_sync(job=job)
    started, release = threading.Event(), threading.Event()
    prepare = regions.prepare

    def held(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(10)
        return prepare(*args, **kwargs)

    monkeypatch.setattr(regions, "prepare", held)
    monkeypatch.setattr(warm, "PENDING_MAX", 3, raising=False)
    first, running = warm.prepare_regions(images[0])
    started.wait(10)
    futures = [running] + [warm.prepare_regions(image)[1] for image in images[1:]]
    waiting = len(warm._PENDING)
    release.set()
    for future in futures:
        if not future.cancelled():
            future.result(timeout=30)

    assert waiting == 3
    assert [future.cancelled() for future in futures] == [False, True, True, True, False, False]
    made = [("regions", image_key(image)) in CACHE for image in images]
    assert made == [True, False, False, False, True, True]
    assert warm._PENDING == {}


def test_a_failure_of_the_background_work_is_logged_not_lost(
    disc_item: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Nobody reads the background work's future: a bug there shows in the log or nowhere.
    from apps.assist import regions

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the regions")

    monkeypatch.setattr(regions, "prepare", broken)
    with caplog.at_level("ERROR", logger="apps.assist.warm"):
        _, pending = warm.prepare_regions(disc_item.image)
        assert pending is not None
        pending.result(timeout=30)

    assert not prepared(disc_item)
    assert any("a bug in the regions" in (record.exc_text or "") for record in caplog.records)
