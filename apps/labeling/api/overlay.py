"""The thumbnail overlay of an item (GET items/<id>/overlay.svg): its shapes as an SVG for the job page's grid.

Read like the item's state (every member of the job, any role; anyone else is told the item does not
exist). Its URL carries the item's seq, so an answer for the current seq never changes and is cached for
good; any other seq (or none) is answered with the current shapes, not to be reused.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.common.api import errors, valid
from apps.common.streaming import FirstRenderer

from .. import selectors
from ..models import LabelClass
from ..permissions import item_for
from ..thumbnail_overlay import overlay_svg

# No script may run and nothing may load, whoever opens the file and however; the SVG styles itself with
# attributes only.
OVERLAY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
CACHED_FOR_GOOD = "private, max-age=31536000, immutable"


class OverlayQuerySerializer(serializers.Serializer):
    seq = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="the item's seq as the client knows it: when it is the current one, the answer is cached for good",
    )


class ItemOverlay(APIView):
    content_negotiation_class = FirstRenderer  # refusals are JSON whatever an <img> accepts

    @extend_schema(
        parameters=[OverlayQuerySerializer],
        responses={
            (200, "image/svg+xml"): OpenApiResponse(
                OpenApiTypes.STR,
                description="an SVG the image's size (viewBox 0 0 width height), a <polygon> per closed "
                "shape in its label's colour; no text, no script",
            ),
            **errors(400),
        },
        description="Every member of the job may read it, as the item's state.",
    )
    def get(self, request: Request, item_id: int) -> HttpResponse:
        item, _ = item_for(request.user, item_id)
        query = valid(OverlayQuerySerializer, request.query_params)
        state = selectors.item_state_get(item=item)
        colors = dict(LabelClass.objects.filter(job_id=item.job_id).values_list("pk", "color"))
        response = HttpResponse(overlay_svg(state, colors), content_type="image/svg+xml")
        response["Cache-Control"] = CACHED_FOR_GOOD if query.get("seq") == state.seq else "no-cache"
        response["Content-Security-Policy"] = OVERLAY_POLICY
        response["X-Content-Type-Options"] = "nosniff"
        return response
