"""POST /api/items/<id>/assist/model/: the Model tool, proposals from the configured model server.

The view reads and checks the prompts against the item's image (apps/assist/prompts.py), counts the
person's proposals (limits.py), and asks the model server (model.py) with the image as stored. It writes
nothing: the client shows the answer as a draft, and only accepting it sends an `add_polygon`.

Waiting for a model is not CPU work, so it does not hold one of the OpenCV tools' slots (a slow model would
starve them); it has its own bound, POLYLOG_ASSIST_MODEL_CONCURRENCY requests in flight per process, so
that people clicking at a stalled model server do not pile up threads each waiting out the timeout.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import errors
from apps.common.errors import ApiError
from apps.datasets.models import Image
from apps.labeling.models import Role
from apps.labeling.permissions import item_for

from .api import REFUSALS, LabeledPointSerializer, ProposalsSerializer
from .images import CACHE
from .limits import Slots, rate_check
from .model import ModelImage, model_url, propose
from .prompts import MAX_POINTS, model_prompt
from .proposals import as_json

MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024
# Who may ask for proposals: those who may draw (staff act as managers); auditors and reviewers read only.
ASSIST_ROLES = (Role.ANNOTATOR, Role.MANAGER)

# One of the process's requests in flight to the model server for the body.
model_slot = Slots(
    "POLYLOG_ASSIST_MODEL_CONCURRENCY", "The model server is busy with other people's prompts"
).slot


def stored_bytes(image: Image) -> bytes:
    """The image file as stored, kept in the assist cache: a person prompts the same image many times.
    A file over MAX_MODEL_FILE_BYTES is not sent: base64 and JSON make three copies of it in memory for
    each request in flight."""

    def load() -> tuple[bytes, int]:
        try:
            with default_storage.open(image.file.name, "rb") as handle:
                content = handle.read(MAX_MODEL_FILE_BYTES + 1)
        except OSError as exc:
            raise ApiError(
                422, "no_proposal", f"The image could not be read for the assistant ({type(exc).__name__})."
            ) from None
        if len(content) > MAX_MODEL_FILE_BYTES:
            raise ApiError(
                422,
                "no_proposal",
                f"The image file is over {MAX_MODEL_FILE_BYTES // (1024 * 1024)} MiB, more than is sent to "
                "the model server; use another tool.",
            )
        return content, len(content)

    return CACHE.cached(("file", image.pk, image.checksum), load)


class ModelPointSerializer(LabeledPointSerializer):
    x = serializers.FloatField(min_value=0, help_text="image pixels, at most the image's width")
    y = serializers.FloatField(min_value=0, help_text="image pixels, at most the image's height")


class ModelRequestSerializer(serializers.Serializer):
    """For the schema: prompts.model_prompt reads and checks the body."""

    points = ModelPointSerializer(many=True, required=False, max_length=MAX_POINTS)
    box = serializers.ListField(
        child=serializers.FloatField(min_value=0),
        min_length=4,
        max_length=4,
        allow_null=True,
        required=False,
        help_text="[x0, y0, x1, y1] in image pixels",
    )


class ItemAssistModel(APIView):
    @extend_schema(
        request=ModelRequestSerializer,
        responses={
            200: ProposalsSerializer,
            **errors(
                texts={
                    **REFUSALS,
                    404: "no such item, or not a member of its job; or assist_model_not_configured (no "
                    "POLYLOG_ASSIST_MODEL_URL)",
                    422: "no_proposal: the model proposed no usable polygon",
                    502: "assist_model_unavailable (down, refused, an HTTP error) or assist_model_bad_answer "
                    "(not the protocol's answer)",
                    503: "assist_busy: every slot for requests to the model server stayed taken "
                    "(POLYLOG_ASSIST_MODEL_CONCURRENCY)",
                    504: "assist_model_timeout: no answer within POLYLOG_ASSIST_MODEL_TIMEOUT",
                },
            ),
        },
        description="Proposals from the configured model server (docs/assist.md, 'The model server') for "
        "points and/or a box. For annotators and managers of the item's job; nothing is written.",
    )
    def post(self, request: Request, item_id: int) -> Response:
        if not model_url():
            raise ApiError(
                404,
                "assist_model_not_configured",
                "No model server is configured (POLYLOG_ASSIST_MODEL_URL).",
            )
        item, role = item_for(request.user, item_id)
        if role not in ASSIST_ROLES:
            raise ApiError(
                403, "permission_denied", f"Your role ({role}) may not ask the assistant for polygons."
            )
        image = item.image
        prompt = model_prompt(request.data, image.width, image.height)
        rate_check(request.user.pk)
        with model_slot():
            content = stored_bytes(image)
            sent = ModelImage(image.pk, image.width, image.height, image.checksum, content)
            points = [{"x": p.x, "y": p.y, "label": p.label} for p in prompt.points]
            proposals = propose(sent, points, prompt.box)
        if not proposals:
            raise ApiError(422, "no_proposal", "The model proposed no polygon for these prompts.")
        return Response(as_json(proposals))
