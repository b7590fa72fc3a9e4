"""POST /api/items/<id>/assist/{scissors,box,wand}/: proposals of the OpenCV tools (docs/assist.md).

Each view authorises (annotators and managers of the item's job; auditors and reviewers 403, anyone else
404), counts the person's proposals (429), reads the prompt against the image (400 invalid_prompt), then
takes one of the process's assist slots (503 assist_busy) for the CPU work, which runs here, in the
request's worker thread (Django runs sync views off the event loop under Daphne). Nothing is written:
the client shows the answer as a draft, and only accepting it sends an `add_polygon`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import errors
from apps.common.errors import ApiError
from apps.datasets.models import Image
from apps.labeling.permissions import WRITE, item_for

from . import box, scissors, wand, warm
from .images import CACHE, image_key, image_pixels
from .limits import assist_slot, rate_check
from .prompts import (
    MAX_ANCHORS,
    MAX_COLOUR_TOLERANCE,
    MAX_POINTS,
    MAX_SIMPLIFY_PX,
    box_prompt,
    scissors_prompt,
    wand_prompt,
)
from .proposals import Proposal, as_json

# Shapes for the OpenAPI schema; the prompts are read by apps/assist/prompts.py, whose refusals are all
# 400 invalid_prompt with a sentence naming the field.


def _pair(help_text: str, **kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, help_text=help_text, **kwargs
    )


class LabeledPointSerializer(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()
    label = serializers.ChoiceField(choices=[0, 1], help_text="1: foreground (the object), 0: background")


class ScissorsRequestSerializer(serializers.Serializer):
    anchors = serializers.ListField(
        child=_pair("[x, y]"), min_length=1, max_length=MAX_ANCHORS, help_text="the anchors clicked, in order"
    )
    pointer = _pair("[x, y]: where the pointer is (needed for a preview)", required=False, allow_null=True)
    close = serializers.BooleanField(
        required=False,
        default=False,
        help_text="false: the live path from the last anchor to the pointer; "
        "true: the closed polygon through every anchor (and the pointer) back to the first",
    )
    tolerance = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_SIMPLIFY_PX, default=1, help_text="simplification, px"
    )


class BoxRequestSerializer(serializers.Serializer):
    box = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4, help_text="[x0, y0, x1, y1]"
    )
    points = LabeledPointSerializer(many=True, required=False, max_length=MAX_POINTS)
    tolerance = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_SIMPLIFY_PX, default=1, help_text="simplification, px"
    )


class WandRequestSerializer(serializers.Serializer):
    point = _pair("[x, y]: the pixel clicked")
    tolerance = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=MAX_COLOUR_TOLERANCE,
        default=32,
        help_text="how far each colour channel may be from the clicked pixel's (0..255)",
    )
    simplify = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_SIMPLIFY_PX, default=1, help_text="simplification, px"
    )


class ProposalSerializer(serializers.Serializer):
    points = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))
    score = serializers.FloatField()


class ProposalsSerializer(serializers.Serializer):
    polygons = ProposalSerializer(many=True)


class PrepareSerializer(serializers.Serializer):
    regions = serializers.ChoiceField(
        choices=["ready", "preparing"],
        help_text="ready: the image's regions are cached; preparing: they are being made in the background",
    )


class ScissorsProposalsSerializer(ProposalsSerializer):
    open = serializers.BooleanField(help_text="true: a path (a preview), false: a closed polygon")


REFUSALS = {
    400: "invalid_prompt: a field is missing, of the wrong type, not finite, outside the image, or a list "
    "is too long (the message names it)",
    403: "permission_denied: auditors and reviewers may not ask for proposals",
    422: "no_proposal: the tool found nothing to propose here",
    429: "rate_limited: too many proposals for this person (POLYLOG_ASSIST_RATE)",
    503: "assist_busy: every assist slot of the server stayed taken (POLYLOG_ASSIST_CONCURRENCY)",
}


def no_proposal(message: str) -> ApiError:
    return ApiError(422, "no_proposal", message)


class AssistView(APIView):
    """The steps every OpenCV tool shares; a tool says how to read its prompt and what to propose."""

    def propose(self, image: Image, data: Any) -> dict[str, Any]:
        raise NotImplementedError

    def post(self, request: Request, item_id: int) -> Response:
        item, _ = item_for(request.user, item_id, WRITE)
        rate_check(request.user.pk)
        return Response(self.propose(item.image, request.data))


def _run(image: Image, work: Callable[[np.ndarray], Any]) -> Any:
    with assist_slot():
        return work(image_pixels(image))


def _max_vertices() -> int:
    return int(settings.POLYLOG["MAX_VERTICES"])


class ItemAssistScissors(AssistView):
    @extend_schema(
        request=ScissorsRequestSerializer,
        responses={200: ScissorsProposalsSerializer, **errors(texts=REFUSALS)},
        description="Intelligent scissors (docs/assist.md): the edge-following path from the last anchor to "
        "the pointer (close false), or the closed polygon through every anchor (close true). Writes nothing.",
    )
    def post(self, request: Request, item_id: int) -> Response:
        return super().post(request, item_id)

    def propose(self, image: Image, data: Any) -> dict[str, Any]:
        prompt = scissors_prompt(data, image.width, image.height)
        key = image_key(image)

        def work(pixels: np.ndarray) -> Proposal | None:
            if not prompt.close:
                return scissors.preview(pixels, prompt, CACHE, key)
            return scissors.close(pixels, prompt, CACHE, key, _max_vertices())

        found = _run(image, work)
        if found is None:
            raise no_proposal("The path through these anchors encloses no area.")
        return as_json([found], open=not prompt.close)


class ItemAssistBox(AssistView):
    @extend_schema(
        request=BoxRequestSerializer,
        responses={200: ProposalsSerializer, **errors(texts=REFUSALS)},
        description="Box to polygon (docs/assist.md): GrabCut's cut over the image's small regions (prepared "
        "once per image and cached), refined by foreground and background points; the largest part first. "
        "Writes nothing.",
    )
    def post(self, request: Request, item_id: int) -> Response:
        return super().post(request, item_id)

    def propose(self, image: Image, data: Any) -> dict[str, Any]:
        prompt = box_prompt(data, image.width, image.height)
        key = image_key(image)

        def work(pixels: np.ndarray) -> list[Proposal]:
            # The image's regions are prepared (and cached) for the first box that is cut over them.
            wanted = box.uses_image_regions(prompt, image.width, image.height)
            regions = box.cached_regions(pixels, CACHE, key) if wanted else None
            return box.box_proposals(pixels, prompt, _max_vertices(), regions)

        found = _run(image, work)
        if not found:
            raise no_proposal("Nothing stands out from its surroundings in this box.")
        return as_json(found)


class ItemAssistWand(AssistView):
    @extend_schema(
        request=WandRequestSerializer,
        responses={200: ProposalsSerializer, **errors(texts=REFUSALS)},
        description="Magic wand (docs/assist.md): the outline of the region of colours near the clicked "
        "pixel's. Writes nothing.",
    )
    def post(self, request: Request, item_id: int) -> Response:
        return super().post(request, item_id)

    def propose(self, image: Image, data: Any) -> dict[str, Any]:
        prompt = wand_prompt(data, image.width, image.height)
        found = _run(image, lambda pixels: wand.wand_proposals(pixels, prompt, _max_vertices()))
        if not found:
            raise no_proposal("The flooded region has no outline to propose.")
        return as_json(found)


class ItemAssistBoxPrepare(APIView):
    @extend_schema(
        request=None,
        responses={
            202: PrepareSerializer,
            **errors(
                texts={
                    400: "invalid_prompt: a body that is not a JSON object (it names no fields; any are ignored)",
                    403: REFUSALS[403],
                    429: REFUSALS[429],
                }
            ),
        },
        description="Prepares the image's regions for box to polygon in the background (docs/assist.md), so "
        "that the first box on the image does not wait for them; the labeling page sends it when the box "
        "tool is chosen. Counts as a proposal for the rate. Writes nothing.",
    )
    def post(self, request: Request, item_id: int) -> Response:
        item, _ = item_for(request.user, item_id, WRITE)
        if not isinstance(request.data, dict):
            raise ApiError(400, "invalid_prompt", "The body, when sent, must be a JSON object ({}).")
        rate_check(request.user.pk)
        state, _ = warm.prepare_regions(item.image)
        return Response({"regions": state}, status=202)
