"""REST for the interchange: `GET /api/jobs/<id>/export/?format=coco|voc|labelme|yolo|cvat` plus the filters
of the items list, answered with a zip that is streamed while it is made; or, when the filters select
POLYLOG["EXPORT_QUEUE_ITEMS"] items or more, 202 with an export made on the queue, followed at
`/api/exports/<id>/` and downloaded from `/api/exports/<id>/download/` until it expires."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import errors, valid
from apps.common.errors import ApiError
from apps.common.streaming import FirstRenderer, streamed
from apps.datasets.views import accel_redirect
from apps.labeling import selectors
from apps.labeling.api.serializers.items import ItemListQuerySerializer
from apps.labeling.permissions import job_for

from .export import FORMATS, export_filename, export_stream
from .exports import export_file, export_for, export_queue, export_view

# What the export's zip may never be taken for by a browser: nothing in it loads or runs.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


class ExportQuerySerializer(ItemListQuerySerializer):
    format = serializers.ChoiceField(choices=FORMATS, help_text="coco, voc, labelme, yolo or cvat")
    images = serializers.BooleanField(required=False, default=False, help_text="put the image files in too")


class ExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    job = serializers.IntegerField()
    format = serializers.ChoiceField(choices=FORMATS)
    images = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed", "expired"])
    done = serializers.IntegerField(help_text="items written so far")
    total = serializers.IntegerField(help_text="items the filters selected")
    error = serializers.CharField(help_text="why it failed; empty otherwise")
    url = serializers.CharField(help_text="this export")
    download_url = serializers.CharField(allow_null=True, help_text="the zip, once done; null before")
    size = serializers.IntegerField(allow_null=True, help_text="bytes of the zip, once done")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="when the download goes (410 after)")


class JobExport(APIView):
    content_negotiation_class = FirstRenderer

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="the export as a zip"),
            (202, "application/json"): OpenApiResponse(
                ExportSerializer,
                description="the filters select POLYLOG_EXPORT_QUEUE_ITEMS items or more: the export is made "
                "on the queue; follow `url` (or the job socket's export_progress frames) to `download_url`",
            ),
            **errors(400),
        },
        description="Every member may export. The item filters select which images go in.",
    )
    def get(self, request: Request, job_id: int) -> StreamingHttpResponse | Response:
        job, _ = job_for(request.user, job_id)
        query = valid(ExportQuerySerializer, request.query_params)
        items = selectors.export_items(job, query)
        selected = selectors.item_list_count(job_id=job.pk, query=query)
        if selected is None:
            selected = items.count()
        if selected >= settings.POLYLOG["EXPORT_QUEUE_ITEMS"]:
            filters = {k: v for k, v in query.items() if k not in ("format", "images")}
            export = export_queue(
                job=job,
                requested_by=request.user,
                fmt=query["format"],
                with_images=query["images"],
                query=filters,
                total=selected,
            )
            body = export_view(export)
            return Response(body, status=202, headers={"Location": body["url"]})
        chunks = export_stream(job, items, query["format"], with_images=query["images"])
        response = StreamingHttpResponse(streamed(request, chunks), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{export_filename(job, query["format"])}"'
        return response


class ExportDetail(APIView):
    @extend_schema(
        responses={
            200: OpenApiResponse(ExportSerializer, description="finished: done, failed or expired"),
            202: OpenApiResponse(ExportSerializer, description="queued or running: ask again"),
        },
        description="A queued export, for every member of its job: 202 while it is being made, 200 once it "
        "is done (with its download_url), failed (with the reason) or expired.",
    )
    def get(self, request: Request, export_id: int) -> Response:
        body = export_view(export_for(request.user, export_id))
        return Response(body, status=202 if body["status"] in ("queued", "running") else 200)


class ExportDownload(APIView):
    content_negotiation_class = FirstRenderer

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="the export's zip"),
            **errors(
                409,
                410,
                texts={
                    409: "not ready yet (code export_not_ready) or failed (code export_failed)",
                    410: "expired (code export_expired): the file is deleted; export again",
                },
            ),
        },
        description="The zip of a queued export, as an attachment, for every member of its job.",
    )
    def get(self, request: Request, export_id: int) -> HttpResponse:
        export = export_for(request.user, export_id)
        name = export_file(export)
        filename = export_filename(export.job, export.format)
        prefix = settings.POLYLOG["MEDIA_ACCEL_PREFIX"]
        if prefix and not default_storage.exists(name):
            raise ApiError(
                410, "export_expired", f"Export {export.pk}'s file is gone from storage; ask again."
            )
        if prefix:  # behind nginx: it sends the bytes (from disk or the bucket), as for media
            response = accel_redirect(prefix, name, "application/zip", attachment=True, filename=filename)
            response["X-Content-Type-Options"] = "nosniff"
            response["Content-Security-Policy"] = DOWNLOAD_POLICY
            return response
        try:
            handle = default_storage.open(name, "rb")
        except FileNotFoundError:  # deleted behind the app's back (a bucket's lifecycle rule, an operator)
            raise ApiError(
                410, "export_expired", f"Export {export.pk}'s file is gone from storage; ask again."
            ) from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=filename,
            content_type="application/zip",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = DOWNLOAD_POLICY
        return response
