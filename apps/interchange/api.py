"""REST for the interchange: `GET /api/jobs/<id>/export/?format=coco|voc|labelme|yolo` plus the filters
of the items list, answered with a zip that is streamed while it is made."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.common.api import errors, valid
from apps.common.streaming import FirstRenderer, streamed
from apps.labeling import selectors
from apps.labeling.api.serializers.items import ItemListQuerySerializer
from apps.labeling.permissions import job_for

from .export import FORMATS, export_filename, export_stream


class ExportQuerySerializer(ItemListQuerySerializer):
    format = serializers.ChoiceField(choices=FORMATS, help_text="coco, voc, labelme or yolo")
    images = serializers.BooleanField(required=False, default=False, help_text="put the image files in too")


class JobExport(APIView):
    content_negotiation_class = FirstRenderer

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="the export as a zip"),
            **errors(400),
        },
        description="Every member may export. The item filters select which images go in.",
    )
    def get(self, request: Request, job_id: int) -> StreamingHttpResponse:
        job, _ = job_for(request.user, job_id)
        query = valid(ExportQuerySerializer, request.query_params)
        items = selectors.item_list_for(job, query)
        chunks = export_stream(job, items, query["format"], with_images=query["images"])
        response = StreamingHttpResponse(streamed(request, chunks), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{export_filename(job, query["format"])}"'
        return response
