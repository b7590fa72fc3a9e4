"""REST views for audit and replay (docs/audit.md): read-only, for every member of the job, auditors
included; anyone else is told the item or job does not exist."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import errors, valid
from apps.common.pagination import Pagination
from apps.common.streaming import FirstRenderer, streamed

from .. import audit
from ..permissions import item_for, job_for
from .serializers.audit import (
    ActivityQuerySerializer,
    ActivitySerializer,
    DiffQuerySerializer,
    DiffSerializer,
    IntegritySerializer,
    TimelinePageSerializer,
    TimelineQuerySerializer,
)

NDJSON = "application/x-ndjson"


class ItemTimeline(APIView):
    @extend_schema(
        parameters=[
            TimelineQuerySerializer,
            OpenApiParameter("page", int, description="page number, from 1"),
            OpenApiParameter("page_size", int, description="events per page (default 50, at most 500)"),
        ],
        responses={200: TimelinePageSerializer, **errors(400)},
        description="The item's events in seq order, each with who, when, what and a summary for a person.",
    )
    def get(self, request: Request, item_id: int) -> Response:
        item, _ = item_for(request.user, item_id)
        query = valid(TimelineQuerySerializer, request.query_params)
        rows = audit.item_timeline(
            item=item,
            actor_id=query.get("actor"),
            types=query.get("type"),
            since=query.get("since"),
            until=query.get("until"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        response = paginator.get_paginated_response(audit.timeline_entries(item=item, rows=page))
        response.data["last_seq"] = item.last_seq
        return response


class ItemDiff(APIView):
    @extend_schema(
        parameters=[DiffQuerySerializer],
        responses={200: DiffSerializer, **errors(400)},
        description="What changed in the closed shapes between the states at two seqs (either order).",
    )
    def get(self, request: Request, item_id: int) -> Response:
        item, _ = item_for(request.user, item_id)
        query = valid(DiffQuerySerializer, request.query_params)
        return Response(audit.item_diff(item=item, from_seq=query["from_seq"], to_seq=query["to_seq"]))


class JobActivity(APIView):
    @extend_schema(
        parameters=[ActivityQuerySerializer],
        responses={200: ActivitySerializer, **errors(400)},
        description="Per person and per UTC day: how many events, shapes drawn, saves, images touched.",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        query = valid(ActivityQuerySerializer, request.query_params)
        return Response(audit.job_activity(job=job, since=query.get("since"), until=query.get("until")))


class ItemIntegrity(APIView):
    @extend_schema(responses={200: IntegritySerializer, **errors()})
    def get(self, request: Request, item_id: int) -> Response:
        item, _ = item_for(request.user, item_id)
        return Response(audit.item_integrity(item=item))


class JobIntegrity(APIView):
    @extend_schema(responses={200: IntegritySerializer, **errors()})
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        return Response(audit.job_integrity(job=job))


LOG_RESPONSES = {
    (200, NDJSON): OpenApiResponse(
        OpenApiTypes.STR,
        description="one JSON object per line: item_id, seq, type, schema_version, payload, actor, "
        "created_at, command_id, hash (docs/audit.md; docs/verify_log.py checks it)",
    ),
    **errors(),
}


def _log_response(request: Request, chunks: Iterator[bytes], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(streamed(request, chunks), content_type=NDJSON)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ItemLog(APIView):
    content_negotiation_class = FirstRenderer

    @extend_schema(responses=LOG_RESPONSES, description="The item's event log with its hash chain.")
    def get(self, request: Request, item_id: int) -> StreamingHttpResponse:
        item, _ = item_for(request.user, item_id)
        return _log_response(request, audit.item_log(item=item), f"item-{item.pk}-log.jsonl")


class JobLog(APIView):
    content_negotiation_class = FirstRenderer

    @extend_schema(
        responses=LOG_RESPONSES,
        description="The event logs of every image of the job (deleted ones too), in (item_id, seq) order.",
    )
    def get(self, request: Request, job_id: int) -> StreamingHttpResponse:
        job, _ = job_for(request.user, job_id)
        return _log_response(request, audit.job_log(job=job), f"job-{job.pk}-log.jsonl")
