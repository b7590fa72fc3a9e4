"""REST views of the quality report (docs/api.md "Quality"): the figures, and the events behind each one.

Every member of the job reads them, auditors included (they read every event already; the figures only
count them); anyone else is told the job does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import errors, valid
from apps.common.pagination import Pagination
from apps.labeling.models import Item, StoredEvent
from apps.labeling.permissions import job_for

from .quality import MARKED, quality_report
from .quality_models import QualityMark

# The figures of the events list: those with marks, and those read from the log itself.
FROM_LOG = ("active", "events", "saves")
EVENT_FIGURES = (*MARKED, *FROM_LOG)


class _DayFiguresSerializer(serializers.Serializer):
    labeled = serializers.IntegerField(help_text="images whose labeler a save of theirs made them")
    accepted = serializers.IntegerField(help_text="acceptances of images they labeled")
    rejected = serializers.IntegerField(help_text="rejections of images they labeled")
    issues_received = serializers.IntegerField(help_text="issues others opened on images they labeled")
    issues_per_image = serializers.FloatField(allow_null=True, help_text="issues_received / labeled")
    rework = serializers.IntegerField(help_text="saves of their images that stood rejected")
    active_seconds = serializers.FloatField(help_text="gaps between their commands, each up to the cut")
    shapes = serializers.IntegerField(help_text="polygons they closed or added")
    vertices = serializers.IntegerField(help_text="the vertices of those polygons")
    vertices_per_shape = serializers.FloatField(allow_null=True)
    reviews_accepted = serializers.IntegerField(help_text="acceptances they sent")
    reviews_rejected = serializers.IntegerField(help_text="rejections they sent")
    saves = serializers.IntegerField()
    events = serializers.IntegerField()


class _DaySerializer(_DayFiguresSerializer):
    day = serializers.DateField(help_text="UTC day")


class _PersonSerializer(_DayFiguresSerializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    days = _DaySerializer(many=True)


class _ThroughputSerializer(serializers.Serializer):
    day = serializers.DateField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()


class QualityReportSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    idle_gap_seconds = serializers.IntegerField(help_text="POLYLOG_QUALITY_IDLE_GAP_SECONDS")
    people = _PersonSerializer(many=True)
    throughput = _ThroughputSerializer(many=True, help_text="review decisions per UTC day")


class QualityEventsQuerySerializer(serializers.Serializer):
    figure = serializers.ChoiceField(choices=EVENT_FIGURES, help_text="the figure whose events to list")
    person = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="whose figure (user id); else everyone's"
    )
    day = serializers.DateField(required=False, help_text="only this UTC day's")


class QualityEventSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    image = serializers.CharField(help_text="the image's file name")
    seq = serializers.IntegerField()
    type = serializers.CharField()
    actor = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    value = serializers.IntegerField(help_text="what the event adds to the figure (a shape: its vertices)")
    replay_url = serializers.CharField(help_text="the replay page at this event")


class QualityEventPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = QualityEventSerializer(many=True)


class QualityReport(APIView):
    @extend_schema(
        responses={200: QualityReportSerializer},
        description="Per person and per UTC day, the quality figures counted from the job's events, and the"
        " review throughput per day (docs/review.md, Quality).",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        return Response(quality_report(job.pk))


def _day_range(day: Any) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _marked(job_id: int, query: dict[str, Any]) -> QuerySet[QualityMark]:
    marks = QualityMark.objects.filter(job_id=job_id, figure=query["figure"])
    if "person" in query:
        marks = marks.filter(person_id=query["person"])
    if "day" in query:
        marks = marks.filter(day=query["day"])
    return marks.order_by("item_id", "seq")


def _logged(job_id: int, query: dict[str, Any]) -> QuerySet[StoredEvent]:
    events = StoredEvent.objects.filter(item__job_id=job_id)
    if "person" in query:
        events = events.filter(actor_id=query["person"])
    if query["figure"] == "saves":
        events = events.filter(type="saved")
    if "day" in query:
        start, end = _day_range(query["day"])
        events = events.filter(created_at__gte=start, created_at__lt=end)
    return events.order_by("created_at", "item_id", "seq")


class QualityEvents(APIView):
    @extend_schema(
        parameters=[
            QualityEventsQuerySerializer,
            OpenApiParameter("page", int, description="page number, from 1"),
            OpenApiParameter("page_size", int, description="events per page (default 50, at most 500)"),
        ],
        responses={200: QualityEventPageSerializer, **errors(400)},
        description="The events behind one figure of one person (and day): each with a link to the replay"
        " of its image at that event.",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        query = valid(QualityEventsQuerySerializer, request.query_params)
        paginator = Pagination()
        if query["figure"] in FROM_LOG:
            page = paginator.paginate_queryset(_logged(job.pk, query), request, view=self)
            found = [(e.item_id, e.seq, 1) for e in page]
        else:
            page = paginator.paginate_queryset(_marked(job.pk, query), request, view=self)
            found = [(m.item_id, m.seq, m.value) for m in page]
        return paginator.get_paginated_response(_entries(found))


def _entries(found: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
    """The page's events, read in one query, with their image's name."""
    if not found:
        return []
    wanted = {(item_id, seq) for item_id, seq, _ in found}
    rows = StoredEvent.objects.filter(item_id__in={i for i, _ in wanted}, seq__in={s for _, s in wanted})
    events = {(e.item_id, e.seq): e for e in rows if (e.item_id, e.seq) in wanted}
    names = dict(Item.objects.filter(pk__in={i for i, _ in wanted}).values_list("pk", "image__name"))
    out = []
    for item_id, seq, value in found:
        event = events.get((item_id, seq))
        if event is None:
            continue
        out.append(
            {
                "item_id": item_id,
                "image": names.get(item_id, ""),
                "seq": seq,
                "type": event.type,
                "actor": event.actor_id,
                "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
                "value": value,
                "replay_url": f"/items/{item_id}/replay/?seq={seq}",
            }
        )
    return out
