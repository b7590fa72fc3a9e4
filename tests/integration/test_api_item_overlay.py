"""GET /api/items/<id>/overlay.svg: the item's shapes for its thumbnail, read like its state."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import square

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def polygons(response: Any) -> list[ET.Element]:
    return ET.fromstring(response.content).findall(f"{SVG}polygon")


def test_it_draws_each_shape_in_its_label_colour_at_the_image_size(
    annotator_api, auditor_api, item, labels, add_polygon
):
    add_polygon(annotator_api, item.pk, labels["cat"].pk, points=square(10, 10, 20))
    add_polygon(annotator_api, item.pk, labels["dog"].pk, points=square(50, 40, 10.04))

    response = auditor_api.get(f"/api/items/{item.pk}/overlay.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    assert (root.get("viewBox"), root.get("width"), root.get("height")) == ("0 0 100 80", "100", "80")
    drawn = polygons(response)
    assert [p.get("fill") for p in drawn] == [labels["cat"].color, labels["dog"].color]
    assert drawn[0].get("points") == "10,10 30,10 30,30 10,30"
    assert drawn[1].get("points") == "50,40 60,40 60,50 50,50"


def test_an_item_with_no_shapes_is_an_empty_svg(manager_api, item):
    response = manager_api.get(f"/api/items/{item.pk}/overlay.svg")

    assert response.status_code == 200
    assert polygons(response) == []


def test_it_holds_no_script_and_no_label_name(manager_api, annotator_api, item, labels, add_polygon):
    renamed = manager_api.patch(
        f"/api/jobs/{item.job_id}/label-classes/{labels['cat'].pk}/",
        {"name": '<script>alert("cat")</script>'},
        format="json",
    )
    assert renamed.status_code == 200
    add_polygon(annotator_api, item.pk, labels["cat"].pk)

    response = manager_api.get(f"/api/items/{item.pk}/overlay.svg")

    text = response.content.decode()
    assert len(polygons(response)) == 1
    assert "script" not in text.lower() and "alert" not in text and "cat" not in text
    assert response["Content-Security-Policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_is_cached_for_good_only_under_the_current_seq(annotator_api, item, labels, add_polygon):
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    item.refresh_from_db()
    url = f"/api/items/{item.pk}/overlay.svg"

    current = annotator_api.get(f"{url}?seq={item.last_seq}")
    stale = annotator_api.get(f"{url}?seq={item.last_seq - 1}")
    unnamed = annotator_api.get(url)

    assert current["Cache-Control"] == "private, max-age=31536000, immutable"
    assert stale["Cache-Control"] == "no-cache"
    assert unnamed["Cache-Control"] == "no-cache"
    assert current.content == stale.content == unnamed.content  # always the current shapes


def test_a_seq_that_is_not_a_number_is_refused(annotator_api, item):
    response = annotator_api.get(f"/api/items/{item.pk}/overlay.svg?seq=last")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_it_follows_the_item_after_a_change(annotator_api, item, labels, add_polygon):
    url = f"/api/items/{item.pk}/overlay.svg"
    assert polygons(annotator_api.get(url)) == []

    add_polygon(annotator_api, item.pk, labels["cat"].pk)

    assert len(polygons(annotator_api.get(url))) == 1


def test_an_outsider_is_told_the_item_does_not_exist(outsider_api, item):
    response = outsider_api.get(f"/api/items/{item.pk}/overlay.svg")
    nothing = outsider_api.get(f"/api/items/{item.pk + 1_000_000}/overlay.svg")

    assert response.status_code == nothing.status_code == 404
    assert response.json()["code"] == "not_found"
