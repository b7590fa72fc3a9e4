"""An item's image at a screen's size (GET items/<id>/preview.jpg), for the labeling page zoomed out.

A 6000x4000 photo drawn at 20 % shows 1,200 of its pixels across: the page draws this preview (at most
PREVIEW_SIDE pixels on its longer side) until the zoom needs more, then the stored file. Made on request
(JPEG files are decoded at a fraction of their size, Pillow's draft mode), never stored: nothing to keep in
step with the image, to delete with it, or to fill storage; the browser keeps it (the URL names the
image's checksum). Read like the item's state: every member of the job, any role; anyone else is told the
item does not exist.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from PIL import Image as PILImage
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.common.api import errors
from apps.common.streaming import FirstRenderer
from apps.datasets.models import Image

from ..permissions import item_for
from .overlay import CACHED_FOR_GOOD

PREVIEW_SIDE = 2048
# Nothing may load or run, as for the stored files (apps/datasets/views.py).
PREVIEW_POLICY = "default-src 'none'; sandbox"


def preview_of(image: Image, item_id: int) -> dict[str, object] | None:
    """The preview for the page ({url, side}), or None when the image is no bigger than a preview."""
    if max(image.width, image.height) <= PREVIEW_SIDE:
        return None
    return {"url": f"/api/items/{item_id}/preview.jpg?v={image.checksum[:16]}", "side": PREVIEW_SIDE}


def preview_jpeg(image: Image) -> bytes:
    """The image scaled down to PREVIEW_SIDE on its longer side (never up), as a JPEG."""
    previous, PILImage.MAX_IMAGE_PIXELS = PILImage.MAX_IMAGE_PIXELS, settings.POLYLOG["MAX_IMAGE_PIXELS"]
    try:
        with default_storage.open(image.file.name, "rb") as handle, PILImage.open(handle) as picture:
            picture.draft("RGB", (PREVIEW_SIDE, PREVIEW_SIDE))  # JPEG: decoded at 1/2, 1/4 or 1/8 size
            picture = picture.convert("RGB")
            picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), PILImage.Resampling.LANCZOS)
            out = io.BytesIO()
            picture.save(out, format="JPEG", quality=85)
    finally:
        PILImage.MAX_IMAGE_PIXELS = previous
    return out.getvalue()


class ItemPreview(APIView):
    content_negotiation_class = FirstRenderer  # refusals are JSON whatever an <image> accepts

    @extend_schema(
        responses={
            (200, "image/jpeg"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description=f"the item's image scaled down to at most {PREVIEW_SIDE} pixels on its longer "
                "side (as it is when smaller), as a JPEG",
            ),
            **errors(),
        },
        description="Every member of the job may read it, as the item's state.",
    )
    def get(self, request: Request, item_id: int) -> HttpResponse:
        item, _ = item_for(request.user, item_id)
        response = HttpResponse(preview_jpeg(item.image), content_type="image/jpeg")
        response["Cache-Control"] = CACHED_FOR_GOOD
        response["Content-Security-Policy"] = PREVIEW_POLICY
        response["X-Content-Type-Options"] = "nosniff"
        return response
