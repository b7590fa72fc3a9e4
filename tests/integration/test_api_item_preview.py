"""GET /api/items/<id>/preview.jpg: the item's image at a screen's size, read like its state."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image as PILImage

from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db


def jpeg_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (30, 140, 200)).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def large_item(job: Any) -> Any:
    """An item of the job over a 4096x2048 JPEG and one over a 3000x900 PNG, synced into the job."""
    from apps.datasets.services import image_create
    from apps.labeling.models import Item

    jpeg = image_create(dataset=job.dataset, path="large/wide.jpg", content=jpeg_bytes(4096, 2048))
    png = image_create(dataset=job.dataset, path="large/strip.png", content=png_bytes(3000, 900))
    return [Item.objects.create(job=job, image=image) for image in (jpeg, png)]


def picture(response: Any) -> PILImage.Image:
    return PILImage.open(io.BytesIO(response.content))


def test_it_scales_the_image_down_to_2048_pixels_on_its_longer_side(auditor_api, large_item):
    jpeg_item, png_item = large_item

    response = auditor_api.get(f"/api/items/{jpeg_item.pk}/preview.jpg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert (picture(response).format, picture(response).size) == ("JPEG", (2048, 1024))

    response = auditor_api.get(f"/api/items/{png_item.pk}/preview.jpg")
    assert picture(response).size == (2048, 614)  # 900 * 2048 / 3000, the shape kept
    assert picture(response).getpixel((1000, 300)) == pytest.approx((200, 120, 40), abs=3)


def test_a_small_image_is_given_at_its_own_size(manager_api, item):
    response = manager_api.get(f"/api/items/{item.pk}/preview.jpg")

    assert response.status_code == 200
    assert picture(response).size == (item.image.width, item.image.height)


def test_it_is_cached_for_good_and_runs_nothing(manager_api, item):
    response = manager_api.get(f"/api/items/{item.pk}/preview.jpg")

    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_page_is_given_a_preview_only_for_an_image_bigger_than_one(client, manager, large_item, item):
    from apps.labeling.api.preview import preview_of

    jpeg_item, _ = large_item
    assert preview_of(jpeg_item.image, jpeg_item.pk) == {
        "url": f"/api/items/{jpeg_item.pk}/preview.jpg?v={jpeg_item.image.checksum[:16]}",
        "side": 2048,
    }
    assert preview_of(item.image, item.pk) is None
    client.force_login(manager)
    page = client.get(f"/items/{jpeg_item.pk}/")
    assert f"/api/items/{jpeg_item.pk}/preview.jpg?v=".encode() in page.content
