"""/api/jobs/<id>/items/: the contract fields, paging, filters and counts, and how the read model follows
the event log (status by saves, labels and counts live)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import IMAGES, new_id, square

pytestmark = pytest.mark.django_db

ITEM_FIELDS = {
    "id",
    "image",
    "status",
    "hard_example",
    "label_class_ids",
    "shape_count",
    "labeled_by",
    "labeled_at",
    "seq",
}
IMAGE_FIELDS = {"name", "path", "width", "height", "thumbnail_url", "url"}


def listing(client: Any, job: Any, **query: Any) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job.pk}/items/", query)
    assert response.status_code == 200, response.json()
    return response.json()


def ids(page: dict[str, Any]) -> list[int]:
    return [i["id"] for i in page["results"]]


def one(client: Any, job: Any, item: Any) -> dict[str, Any]:
    return next(i for i in listing(client, job, page_size=500)["results"] if i["id"] == item.pk)


def test_every_item_has_the_contract_fields(job: Any, items: list[Any], auditor_api: Any) -> None:
    page = listing(auditor_api, job)

    assert page["count"] == len(IMAGES)
    assert sorted(ids(page)) == sorted(i.pk for i in items)
    for listed in page["results"]:
        assert set(listed) >= ITEM_FIELDS
        assert set(listed["image"]) >= IMAGE_FIELDS
        assert listed["status"] == "unlabeled"
        assert listed["hard_example"] is False
        assert listed["label_class_ids"] == []
        assert listed["shape_count"] == 0
        assert listed["labeled_by"] is None
        assert listed["labeled_at"] is None
        assert listed["seq"] == 0


def test_the_image_fields_describe_the_stored_file(job: Any, item: Any, auditor_api: Any) -> None:
    image = one(auditor_api, job, item)["image"]

    assert (image["name"], image["path"], image["width"], image["height"]) == (
        "cat_001.png",
        "cat_001.png",
        100,
        80,
    )
    assert image["url"].startswith("/media/") and image["url"].endswith(".png")
    assert image["thumbnail_url"].startswith("/media/") and image["thumbnail_url"] != image["url"]


def test_a_signed_in_member_can_fetch_the_image_and_its_thumbnail(
    job: Any, item: Any, annotator: Any, annotator_api: Any, client: Any
) -> None:
    client.force_login(annotator)
    image = one(annotator_api, job, item)["image"]

    picture = client.get(image["url"])
    thumbnail = client.get(image["thumbnail_url"])

    assert picture.status_code == 200
    assert b"".join(picture.streaming_content).startswith(b"\x89PNG")
    assert thumbnail.status_code == 200


def test_items_come_in_pages_of_the_size_asked_for(job: Any, items: list[Any], auditor_api: Any) -> None:
    first = listing(auditor_api, job, page_size=2)
    second = listing(auditor_api, job, page_size=2, page=2)

    assert first["count"] == second["count"] == 3
    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    assert first["next"] is not None and first["previous"] is None
    assert second["next"] is None
    assert sorted(ids(first) + ids(second)) == sorted(i.pk for i in items)


def test_a_page_past_the_end_is_not_found(job: Any, auditor_api: Any) -> None:
    response = auditor_api.get(f"/api/jobs/{job.pk}/items/", {"page": 9})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_items_are_ordered_as_asked(job: Any, items: list[Any], auditor_api: Any) -> None:
    by_name = listing(auditor_api, job, ordering="image__name")
    by_name_desc = listing(auditor_api, job, ordering="-image__name")

    names = [i["image"]["name"] for i in by_name["results"]]
    assert names == ["bird_003.png", "cat_001.png", "dog_002.png"]
    assert [i["image"]["name"] for i in by_name_desc["results"]] == names[::-1]


def test_a_save_holding_a_shape_makes_the_item_labeled_by_the_saver(
    job: Any,
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator_api: Any,
    send: Any,
    add_polygon: Any,
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    assert one(annotator_api, job, item)["status"] == "unlabeled"

    saved = send(annotator_api, item.pk, {"type": "save"})

    listed = one(annotator_api, job, item)
    assert listed["status"] == "labeled"
    assert listed["labeled_by"] == annotator.pk
    assert listed["labeled_by_name"] == annotator.username
    assert listed["labeled_at"] is not None
    assert listed["seq"] == saved.body["seq"] == 2
    assert listed["saved_seq"] == 2


def test_deleting_every_shape_and_saving_makes_the_item_unlabeled_again(
    job: Any, item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, add_polygon: Any
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    send(annotator_api, item.pk, {"type": "save"})
    send(annotator_api, item.pk, {"type": "delete_all_shapes"})
    assert one(annotator_api, job, item)["status"] == "labeled"  # still as last saved

    send(annotator_api, item.pk, {"type": "save"})

    listed = one(annotator_api, job, item)
    assert listed["status"] == "unlabeled"
    assert listed["labeled_by"] is None
    assert listed["labeled_at"] is None
    assert listed["shape_count"] == 0


def test_labeled_by_follows_the_latest_save_that_holds_a_shape(
    job: Any,
    item: Any,
    labels: dict[str, Any],
    annotator_api: Any,
    annotator2: Any,
    client_for: Any,
    send: Any,
    add_polygon: Any,
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    send(annotator_api, item.pk, {"type": "save"})
    other = client_for(annotator2)
    add_polygon(other, item.pk, labels["dog"].pk, points=square(40, 40, 10))

    send(other, item.pk, {"type": "save"})

    assert one(annotator_api, job, item)["labeled_by"] == annotator2.pk


def test_labels_and_shape_count_follow_the_live_state_before_any_save(
    job: Any, item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, add_polygon: Any
) -> None:
    cat, dog = labels["cat"], labels["dog"]
    first = new_id()
    add_polygon(annotator_api, item.pk, cat.pk, shape_id=first)
    add_polygon(annotator_api, item.pk, cat.pk, points=square(30, 30, 10))
    add_polygon(annotator_api, item.pk, dog.pk, points=square(50, 50, 10))

    listed = one(annotator_api, job, item)
    assert (listed["shape_count"], listed["label_class_ids"], listed["status"]) == (
        3,
        [cat.pk, dog.pk],
        "unlabeled",
    )

    send(annotator_api, item.pk, {"type": "relabel_shape", "shape_id": first, "label_class_id": dog.pk})
    send(annotator_api, item.pk, {"type": "delete_label_shapes", "label_class_id": cat.pk})

    listed = one(annotator_api, job, item)
    assert (listed["shape_count"], listed["label_class_ids"]) == (2, [dog.pk])
    assert listing(annotator_api, job)["label_counts"] == {str(dog.pk): 1}


def test_a_draft_is_not_counted_as_a_shape(
    job: Any, item: Any, labels: dict[str, Any], annotator_api: Any, send: Any
) -> None:
    shape_id = new_id()
    for x, y in [(10, 10), (20, 10), (20, 20)]:
        send(annotator_api, item.pk, {"type": "add_vertex", "shape_id": shape_id, "x": x, "y": y})
    assert one(annotator_api, job, item)["shape_count"] == 0

    send(
        annotator_api,
        item.pk,
        {"type": "close_polygon", "shape_id": shape_id, "label_class_id": labels["cat"].pk},
    )

    assert one(annotator_api, job, item)["shape_count"] == 1


def test_undo_is_reflected_in_the_list(
    job: Any, item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, add_polygon: Any
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)

    send(annotator_api, item.pk, {"type": "undo"})

    listed = one(annotator_api, job, item)
    assert (listed["shape_count"], listed["label_class_ids"], listed["seq"]) == (0, [], 2)


@pytest.fixture
def labeled_job(
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    annotator_api: Any,
    client_for: Any,
    send: Any,
    add_polygon: Any,
) -> dict[str, Any]:
    """bird: cat shape saved by annotator, hard example; cat: dog shape saved by annotator2; dog: untouched."""
    bird, cat_item, dog_item = items
    add_polygon(annotator_api, bird.pk, labels["cat"].pk)
    send(annotator_api, bird.pk, {"type": "save"})
    send(annotator_api, bird.pk, {"type": "mark_hard_example"})
    other = client_for(annotator2)
    add_polygon(other, cat_item.pk, labels["dog"].pk)
    send(other, cat_item.pk, {"type": "save"})
    return {"bird": bird, "cat": cat_item, "dog": dog_item}


def test_the_status_filter(job: Any, labeled_job: dict[str, Any], auditor_api: Any) -> None:
    labeled = listing(auditor_api, job, status="labeled")
    unlabeled = listing(auditor_api, job, status="unlabeled")
    every = listing(auditor_api, job, status="all")

    assert sorted(ids(labeled)) == sorted([labeled_job["bird"].pk, labeled_job["cat"].pk])
    assert ids(unlabeled) == [labeled_job["dog"].pk]
    assert every["count"] == 3


def test_status_counts_cover_the_whole_job_whatever_the_filter(
    job: Any, labeled_job: dict[str, Any], auditor_api: Any
) -> None:
    page = listing(auditor_api, job, status="unlabeled", q="dog")

    assert page["status_counts"] == {"all": 3, "unlabeled": 1, "labeled": 2}


def test_label_counts_count_images_per_label(
    job: Any, labeled_job: dict[str, Any], labels: dict[str, Any], auditor_api: Any
) -> None:
    assert listing(auditor_api, job)["label_counts"] == {str(labels["cat"].pk): 1, str(labels["dog"].pk): 1}


@pytest.mark.parametrize("value, expected", [("true", ["bird"]), ("false", ["cat", "dog"])])
def test_the_hard_example_filter(
    job: Any, labeled_job: dict[str, Any], auditor_api: Any, value: str, expected: list[str]
) -> None:
    page = listing(auditor_api, job, hard_example=value)

    assert sorted(ids(page)) == sorted(labeled_job[name].pk for name in expected)


def test_without_a_hard_example_filter_every_item_is_listed(
    job: Any, labeled_job: dict[str, Any], auditor_api: Any
) -> None:
    assert listing(auditor_api, job)["count"] == 3


def test_the_label_class_filter_takes_one_or_more_ids(
    job: Any, labeled_job: dict[str, Any], labels: dict[str, Any], auditor_api: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk

    assert ids(listing(auditor_api, job, label_class=str(cat))) == [labeled_job["bird"].pk]
    assert ids(listing(auditor_api, job, label_class=str(dog))) == [labeled_job["cat"].pk]
    both = listing(auditor_api, job, label_class=f"{cat},{dog}")
    assert sorted(ids(both)) == sorted([labeled_job["bird"].pk, labeled_job["cat"].pk])
    assert both["count"] == 2


def test_an_item_with_two_shapes_of_the_filtered_labels_is_listed_once(
    job: Any, labeled_job: dict[str, Any], labels: dict[str, Any], annotator_api: Any, add_polygon: Any
) -> None:
    add_polygon(annotator_api, labeled_job["bird"].pk, labels["dog"].pk, points=square(30, 30, 5))

    page = listing(annotator_api, job, label_class=f"{labels['cat'].pk},{labels['dog'].pk}")

    assert sorted(ids(page)) == sorted([labeled_job["bird"].pk, labeled_job["cat"].pk])
    assert page["count"] == 2


@pytest.mark.parametrize(
    "q, expected",
    [
        ("cat", ["cat"]),
        ("CAT_0", ["cat"]),
        ("birds/", ["bird"]),
        ("_00", ["bird", "cat", "dog"]),
        ("zebra", []),
    ],
)
def test_the_q_filter_matches_a_substring_of_name_or_path(
    job: Any, labeled_job: dict[str, Any], auditor_api: Any, q: str, expected: list[str]
) -> None:
    page = listing(auditor_api, job, q=q)

    assert sorted(ids(page)) == sorted(labeled_job[name].pk for name in expected)


def test_the_labeled_by_filter(
    job: Any, labeled_job: dict[str, Any], annotator: Any, annotator2: Any, auditor: Any, auditor_api: Any
) -> None:
    assert ids(listing(auditor_api, job, labeled_by=annotator.pk)) == [labeled_job["bird"].pk]
    assert ids(listing(auditor_api, job, labeled_by=annotator2.pk)) == [labeled_job["cat"].pk]
    assert ids(listing(auditor_api, job, labeled_by=auditor.pk)) == []


def test_filters_combine(
    job: Any, labeled_job: dict[str, Any], labels: dict[str, Any], annotator: Any, auditor_api: Any
) -> None:
    page = listing(
        auditor_api,
        job,
        status="labeled",
        hard_example="true",
        label_class=labels["cat"].pk,
        labeled_by=annotator.pk,
        q="bird",
    )
    assert ids(page) == [labeled_job["bird"].pk]
    assert ids(listing(auditor_api, job, status="labeled", hard_example="false", q="bird")) == []


@pytest.mark.parametrize(
    "query",
    [
        {"status": "done"},
        {"hard_example": "perhaps"},
        {"label_class": "cat"},
        {"labeled_by": "someone"},
        {"ordering": "password"},
    ],
)
def test_bad_filters_are_refused_with_a_code(job: Any, auditor_api: Any, query: dict[str, str]) -> None:
    response = auditor_api.get(f"/api/jobs/{job.pk}/items/", query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_a_non_member_is_told_the_job_does_not_exist(job: Any, outsider_api: Any) -> None:
    response = outsider_api.get(f"/api/jobs/{job.pk}/items/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
