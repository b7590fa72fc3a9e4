"""Every items-list filter alone and combined, and the per-tab and per-label counts after labeling, after
an undo and after a delete, on a fixture job whose answers are known."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import square

pytestmark = pytest.mark.django_db


@pytest.fixture
def labeled(
    items: list[Any], labels: Any, annotator: Any, annotator2: Any, client_for: Any, send: Any
) -> dict[str, Any]:
    """bird: untouched; cat: a cat, saved by the annotator; dog: a dog then a cat, saved by annotator2, hard."""
    bird, cat, dog = items
    ann, ann2 = client_for(annotator), client_for(annotator2)

    def polygon(client: Any, item: Any, label: str, at: float) -> None:
        command = {
            "type": "add_polygon",
            "shape_id": f"00000000-0000-0000-0000-{int(at):012d}",
            "label_class_id": labels[label].pk,
            "points": square(at, at, 10),
        }
        assert send(client, item.pk, command).status == 201

    polygon(ann, cat, "cat", 5)
    assert send(ann, cat.pk, {"type": "save"}).status == 201
    polygon(ann2, dog, "dog", 5)
    polygon(ann2, dog, "cat", 30)
    assert send(ann2, dog.pk, {"type": "save"}).status == 201
    assert send(ann2, dog.pk, {"type": "mark_hard_example"}).status == 201
    return {"bird": bird, "cat": cat, "dog": dog}


def names(api: Any, job: Any, query: str) -> set[str]:
    response = api.get(f"/api/jobs/{job.pk}/items/?{query}")
    assert response.status_code == 200, response.json()
    return {row["image"]["name"].split("_")[0] for row in response.json()["results"]}


def counts(api: Any, job: Any) -> tuple[dict[str, int], dict[str, int]]:
    body = api.get(f"/api/jobs/{job.pk}/items/").json()
    return body["status_counts"], body["label_counts"]


def test_each_filter_alone_and_combined(
    labeled: dict[str, Any], job: Any, labels: Any, annotator: Any, manager_api: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    expected = {
        "": {"bird", "cat", "dog"},
        "status=all": {"bird", "cat", "dog"},
        "status=labeled": {"cat", "dog"},
        "status=unlabeled": {"bird"},
        "hard_example=true": {"dog"},
        "hard_example=false": {"bird", "cat"},
        f"label_class={cat}": {"cat", "dog"},
        f"label_class={dog}": {"dog"},
        f"label_class={cat},{dog}": {"cat", "dog"},
        "q=bird": {"bird"},
        "q=birds/": {"bird"},
        "q=.png": {"bird", "cat", "dog"},
        f"labeled_by={annotator.pk}": {"cat"},
        f"status=labeled&label_class={cat}&hard_example=false": {"cat"},
        f"status=labeled&label_class={dog}&hard_example=true&q=dog": {"dog"},
        f"status=unlabeled&label_class={cat}": set(),
    }
    for query, answer in expected.items():
        assert names(manager_api, job, query) == answer, query


def test_counts_follow_labeling_undo_and_delete(
    labeled: dict[str, Any],
    job: Any,
    labels: Any,
    annotator2: Any,
    client_for: Any,
    manager_api: Any,
    send: Any,
) -> None:
    cat, dog = str(labels["cat"].pk), str(labels["dog"].pk)
    assert counts(manager_api, job) == ({"all": 3, "unlabeled": 1, "labeled": 2}, {cat: 2, dog: 1})

    # annotator2's latest undoable action on the dog image is the cat polygon (save and marks are not undone)
    assert send(client_for(annotator2), labeled["dog"].pk, {"type": "undo"}).status == 201
    assert counts(manager_api, job) == ({"all": 3, "unlabeled": 1, "labeled": 2}, {cat: 1, dog: 1})

    deleted = manager_api.post("/api/items/delete/", {"item_ids": [labeled["cat"].pk]}, format="json")
    assert deleted.status_code == 200
    assert counts(manager_api, job) == ({"all": 2, "unlabeled": 1, "labeled": 1}, {dog: 1})
