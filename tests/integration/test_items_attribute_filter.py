"""The items list's attribute filter (issue 22 point 6): images whose current shapes of a label class read
an attribute value, a value set or (unset) the declared default, on a fixture job with known answers; its
read model (ItemAttribute) kept in step by every command (set, undo, relabel, split, delete) and rebuilt by
rebuild_projections."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.labeling.models import ItemAttribute
from tests.conftest import square

pytestmark = pytest.mark.django_db

DECLARED = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "colour", "kind": "select", "options": ["red", "green", "blue"]},
    {"name": "count", "kind": "number", "min": 0, "max": 20, "default": 2},
    {"name": "a=b", "kind": "text"},
]


def shape(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


@pytest.fixture
def attributed(
    items: list[Any], labels: Any, job: Any, annotator: Any, client_for: Any, send: Any, manager_api: Any
) -> dict[str, Any]:
    """cat and dog declare the attributes. bird: untouched. cat: a cat, occluded, blue. dog: a dog of count 5
    and a cat with no values (reads the defaults)."""
    for label in ("cat", "dog"):
        response = manager_api.patch(
            f"/api/jobs/{job.pk}/label-classes/{labels[label].pk}/", {"attributes": DECLARED}, format="json"
        )
        assert response.status_code == 200, response.json()
    bird, cat, dog = items
    ann = client_for(annotator)

    def run(item: Any, command: dict[str, Any]) -> None:
        sent = send(ann, item.pk, command)
        assert sent.status == 201, (command, sent.body)

    def polygon(item: Any, n: int, label: str) -> None:
        run(
            item,
            {
                "type": "add_polygon",
                "shape_id": shape(n),
                "label_class_id": labels[label].pk,
                "points": square(5 + 25 * (n % 3), 5, 20),
            },
        )

    polygon(cat, 1, "cat")
    run(cat, {"type": "set_attributes", "shape_id": shape(1), "values": {"occluded": True, "colour": "blue"}})
    polygon(dog, 2, "dog")
    run(dog, {"type": "set_attributes", "shape_id": shape(2), "values": {"count": 5}})
    polygon(dog, 3, "cat")
    return {"ann": ann, "run": run, "bird": bird, "cat": cat, "dog": dog}


def names(api: Any, job: Any, query: str) -> set[str]:
    response = api.get(f"/api/jobs/{job.pk}/items/?{query}")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == len(body["results"])  # counted from the rows, not a tally
    return {row["image"]["name"].split("_")[0] for row in body["results"]}


def refusal(api: Any, job: Any, query: str) -> dict[str, Any]:
    response = api.get(f"/api/jobs/{job.pk}/items/?{query}")
    assert response.status_code == 400, response.json()
    return response.json()


def rebuild_check() -> str:
    out = io.StringIO()
    call_command("rebuild_projections", "--check", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_each_attribute_value_finds_its_images(
    attributed: Any, job: Any, labels: Any, manager_api: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    expected = {
        f"attribute={cat}:occluded=true": {"cat"},
        f"attribute={cat}:occluded=false": {"dog"},  # dog's cat has no value: the default
        f"attribute={cat}:occluded=FALSE": {"dog"},
        f"attribute={cat}:colour=blue": {"cat"},
        f"attribute={cat}:colour=red": {"dog"},
        f"attribute={cat}:colour=green": set(),
        f"attribute={dog}:count=5": {"dog"},
        f"attribute={dog}:count=5.0": {"dog"},
        f"attribute={dog}:count=2": set(),  # the one dog has its own count
        f"attribute={dog}:occluded=false": {"dog"},
        f"attribute={cat}:count=2": {"cat", "dog"},
        f"attribute={cat}:a%3Db=": {"cat", "dog"},  # a name holding "=", the empty text by default
        f"attribute={cat}:occluded=false&status=labeled": set(),  # dog is not saved
        f"attribute={cat}:count=2&q=cat": {"cat"},
        # several: images where every one holds, each by any of the image's shapes
        f"attribute={cat}:occluded=false&attribute={cat}:colour=red": {"dog"},
        f"attribute={cat}:occluded=true&attribute={cat}:colour=red": set(),
        f"attribute={cat}:count=2&attribute={dog}:count=5": {"dog"},
        f"attribute={cat}:count=2&attribute={cat}:count=2": {"cat", "dog"},
    }
    for query, answer in expected.items():
        assert names(manager_api, job, query) == answer, query


def test_a_changed_default_changes_what_unset_shapes_read(
    attributed: Any, job: Any, labels: Any, manager_api: Any
) -> None:
    cat = labels["cat"].pk
    declared = [dict(d) for d in DECLARED]
    declared[1]["default"] = "green"
    manager_api.patch(f"/api/jobs/{job.pk}/label-classes/{cat}/", {"attributes": declared}, format="json")

    assert names(manager_api, job, f"attribute={cat}:colour=green") == {"dog"}
    assert names(manager_api, job, f"attribute={cat}:colour=red") == set()


def test_the_read_model_follows_undo_relabel_split_and_delete(
    attributed: Any, job: Any, labels: Any, manager_api: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    run, item = attributed["run"], attributed["dog"]
    blue = f"attribute={cat}:colour=blue"
    run(item, {"type": "set_attributes", "shape_id": shape(3), "values": {"colour": "blue"}})
    assert names(manager_api, job, blue) == {"cat", "dog"}
    assert names(manager_api, job, f"attribute={cat}:colour=red") == set()

    run(item, {"type": "undo"})
    assert names(manager_api, job, blue) == {"cat"}
    assert names(manager_api, job, f"attribute={cat}:colour=red") == {"dog"}
    run(item, {"type": "redo"})
    assert names(manager_api, job, blue) == {"cat", "dog"}

    # A split: both parts keep the value (two shapes counted).
    run(
        item,
        {"type": "split_shape", "shape_id": shape(3), "line": [[15, 0], [15, 40]]},
    )
    rows = ItemAttribute.objects.filter(item=item, label_class_id=cat, name="colour", value='"blue"')
    assert list(rows.values_list("shape_count", flat=True)) == [2]

    # A relabel starts the shape at the new class's defaults.
    run(item, {"type": "relabel_shape", "shape_id": shape(2), "label_class_id": cat})
    assert names(manager_api, job, f"attribute={dog}:count=5") == set()
    assert names(manager_api, job, f"attribute={cat}:count=2") == {"cat", "dog"}
    run(item, {"type": "undo"})
    assert names(manager_api, job, f"attribute={dog}:count=5") == {"dog"}

    run(item, {"type": "delete_all_shapes"})
    assert names(manager_api, job, blue) == {"cat"}
    assert names(manager_api, job, f"attribute={cat}:colour=red") == set()
    assert not ItemAttribute.objects.filter(item=item).exists()
    assert "0 differences found" in rebuild_check()


def test_rebuild_reports_and_repairs_drifted_attribute_rows(attributed: Any, job: Any, labels: Any) -> None:
    assert "0 differences found" in rebuild_check()
    ItemAttribute.objects.filter(item=attributed["cat"]).update(shape_count=7)
    ItemAttribute.objects.filter(item=attributed["dog"]).delete()

    out = io.StringIO()
    with pytest.raises(CommandError, match="2 differences"):
        call_command("rebuild_projections", "--check", stdout=out, stderr=io.StringIO())
    assert f"item {attributed['cat'].pk}: attribute counts are" in out.getvalue()
    call_command("rebuild_projections", "--now", stdout=io.StringIO(), stderr=io.StringIO())

    assert "0 differences found" in rebuild_check()
    rows = ItemAttribute.objects.order_by("item_id", "name").values_list(
        "item_id", "name", "value", "shape_count"
    )
    cat, dog = attributed["cat"].pk, attributed["dog"].pk
    assert list(rows) == [
        (cat, "colour", '"blue"', 1),
        (cat, "occluded", "true", 1),
        (dog, "count", "5.0", 1),
    ]


def test_a_malformed_or_unknown_attribute_filter_is_refused(
    attributed: Any, job: Any, labels: Any, manager_api: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    manager_api.patch(f"/api/jobs/{job.pk}/label-classes/{dog}/", {"attributes": []}, format="json")
    for query, says in [
        ("attribute=occluded=true", "<label class id>:<attribute name>=<value>"),
        (f"attribute={cat}:occluded", "<label class id>:<attribute name>=<value>"),
        ("attribute=0:occluded=true", "<label class id>"),
        ("attribute=999999:occluded=true", "no label class 999999"),
        (f"attribute={dog}:count=5", "declares no attribute named so (it has none)"),
        (f"attribute={cat}:size=3", "declares no attribute"),
        (f"attribute={cat}:occluded=maybe", "takes true or false"),
        (f"attribute={cat}:count=many", "takes a number"),
        (f"attribute={cat}:count=nan", "takes a number"),
        (f"attribute={cat}:count=2&attribute={cat}:size=3", "declares no attribute"),  # any one of them
        (f"attribute={cat}:count=2&attribute=oops", "<label class id>:<attribute name>=<value>"),
        ("&".join([f"attribute={cat}:count=2"] * 11), "10"),
    ]:
        body = refusal(manager_api, job, query)
        assert body["code"] == "invalid_request", query
        assert says in body["message"], (query, body)


def test_an_export_takes_the_attribute_filter(
    attributed: Any, job: Any, labels: Any, manager_api: Any
) -> None:
    cat = labels["cat"].pk
    response = manager_api.get(f"/api/jobs/{job.pk}/export/?format=coco&attribute={cat}:colour=blue")
    assert response.status_code == 200 and response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    coco = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith(".json"))))
    assert [image["file_name"].rsplit("/", 1)[-1].split("_")[0] for image in coco["images"]] == ["cat"]
    refused = manager_api.get(f"/api/jobs/{job.pk}/export/?format=coco&attribute={cat}:size=3")
    assert refused.status_code == 400 and "declares no attribute" in refused.json()["message"]
