"""REST views of assignments: assign images, split the unlabeled evenly, the record of changes, and
"what do I do next" (docs/api.md, "Assignments"). Parse, authorise, call one service, serialise."""

from __future__ import annotations

from typing import Any

from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import body, errors, valid
from apps.common.pagination import Pagination
from apps.labeling import selectors
from apps.labeling.api.serializers.items import ItemListQuerySerializer
from apps.labeling.models import LabelingJob
from apps.labeling.permissions import MANAGE, job_for

from . import assignments
from .models import AssignmentChange

USER_ID = {"min_value": 1, "max_value": 2**63 - 1}


class ItemsChosenSerializer(serializers.Serializer):
    """Which images: chosen ids, or every image the items list shows under a filter (its query
    parameters, as an object: {"status": "unlabeled", "label_class": "3"})."""

    item_ids = serializers.ListField(
        child=serializers.IntegerField(**USER_ID), required=False, min_length=1, max_length=10_000
    )
    filter = serializers.DictField(required=False, help_text="the items list's query parameters")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("item_ids" in data) == ("filter" in data):
            raise serializers.ValidationError("Give either item_ids or filter.")
        return data


class AssignSerializer(ItemsChosenSerializer):
    annotator = serializers.IntegerField(
        required=False, allow_null=True, help_text="user id; null: nobody; absent: left as it is", **USER_ID
    )
    reviewer = serializers.IntegerField(
        required=False, allow_null=True, help_text="user id; null: nobody; absent: left as it is", **USER_ID
    )


class SplitSerializer(serializers.Serializer):
    annotators = serializers.ListField(
        child=serializers.IntegerField(**USER_ID), min_length=1, max_length=1000, help_text="user ids"
    )
    filter = serializers.DictField(
        required=False,
        help_text="the items list's query parameters (default: all); only unlabeled images split",
    )


class AssignResultSerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="images named")
    changed = serializers.IntegerField(help_text="seats whose holder changed (new rows of the record)")
    batch = serializers.UUIDField()


class SplitCountSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    items = serializers.IntegerField()


class SplitResultSerializer(AssignResultSerializer):
    counts = SplitCountSerializer(many=True)


class AssignmentChangeSerializer(serializers.ModelSerializer):
    item_name = serializers.CharField(source="item.image.name", read_only=True)
    previous_name = serializers.CharField(source="previous.username", default=None, read_only=True)
    assignee_name = serializers.CharField(source="assignee.username", default=None, read_only=True)
    changed_by_name = serializers.CharField(source="changed_by.username", default=None, read_only=True)
    seat = serializers.CharField(source="role", read_only=True, help_text="annotator or reviewer")

    class Meta:
        model = AssignmentChange
        fields = [
            "id",
            "item",
            "item_name",
            "seat",
            "previous",
            "previous_name",
            "assignee",
            "assignee_name",
            "changed_by",
            "changed_by_name",
            "changed_at",
            "batch",
        ]


class HistoryQuerySerializer(serializers.Serializer):
    item = serializers.IntegerField(required=False, help_text="one image's changes", **USER_ID)


class HistoryPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AssignmentChangeSerializer(many=True)


# "for" is a Python keyword: the serializer is built from a dict of its fields.
NextSerializer = type(
    "NextSerializer",
    (serializers.Serializer,),
    {
        "for": serializers.ChoiceField(choices=["label", "review"], default="label"),
        "join": serializers.BooleanField(
            default=False, help_text="include images someone else has open now (passed over otherwise)"
        ),
    },
)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class NextImageSerializer(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField()


class NextResultSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    url = serializers.CharField(help_text="the labeling page of the image")
    image = NextImageSerializer()
    assigned_to_me = serializers.BooleanField(help_text="false: an unassigned image")
    others_on_it = PersonSerializer(many=True, help_text="who else has it open now (when joined)")


# The job page asks about the images selected on one page of its grid (at most 500 a page).
PRESENCE_ITEMS = 500

PresenceQuerySerializer = type(
    "PresenceQuerySerializer",
    (serializers.Serializer,),
    {
        "item_ids": serializers.RegexField(
            rf"^[1-9][0-9]{{0,18}}(,[1-9][0-9]{{0,18}}){{0,{PRESENCE_ITEMS - 1}}}$",
            max_length=20 * PRESENCE_ITEMS,
            help_text=f"item ids, comma-separated (at most {PRESENCE_ITEMS})",
            error_messages={"invalid": f"item_ids: up to {PRESENCE_ITEMS} item ids, comma-separated."},
        )
    },
)


class ItemPresentSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="an item of the job")
    people = PersonSerializer(many=True, help_text="who else has it open now, or was just sent to it")


class PresenceSerializer(serializers.Serializer):
    items = ItemPresentSerializer(many=True, help_text="only the images someone else is on, in id order")


def _chosen(job: LabelingJob, data: dict[str, Any], user: Any) -> Any:
    """The images a request names: its ids, or the items list under its filter (validated as the list
    validates its query)."""
    if "item_ids" in data:
        return data["item_ids"]
    query = valid(ItemListQuerySerializer, {k: v for k, v in (data.get("filter") or {}).items()})
    return selectors.item_list_for(job, query, user)


class JobAssignments(APIView):
    @extend_schema(request=AssignSerializer, responses={200: AssignResultSerializer, **errors(400, 403)})
    def post(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id, MANAGE)
        data = valid(AssignSerializer, body(request))
        seats = {seat: data[seat] for seat in ("annotator", "reviewer") if seat in data}
        result = assignments.assign(job=job, by=request.user, items=_chosen(job, data, request.user), **seats)
        return Response({"items": result.items, "changed": result.changed, "batch": result.batch})


class JobAssignmentsSplit(APIView):
    @extend_schema(request=SplitSerializer, responses={200: SplitResultSerializer, **errors(400, 403)})
    def post(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id, MANAGE)
        data = valid(SplitSerializer, body(request))
        items = selectors.item_list_for(
            job, valid(ItemListQuerySerializer, dict(data.get("filter") or {})), request.user
        )
        return Response(
            assignments.split_evenly(job=job, by=request.user, items=items, annotators=data["annotators"])
        )


class JobAssignmentHistory(APIView):
    @extend_schema(
        parameters=[
            HistoryQuerySerializer,
            OpenApiParameter("page", int, description="page number, from 1"),
            OpenApiParameter("page_size", int, description="changes per page (default 50, at most 500)"),
        ],
        responses={200: HistoryPageSerializer, **errors(400)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        query = valid(HistoryQuerySerializer, request.query_params)
        rows = assignments.history(job=job, item_id=query.get("item"))
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return Response(
            paginator.get_paginated_response(AssignmentChangeSerializer(page, many=True).data).data
        )


class JobPresence(APIView):
    """Who else has which of the given images open now (an open item socket), or was just sent to it by
    Start labeling / Start review: the job page's Delete dialog warns with it (docs/review.md). Ids that
    are not the job's images (or are deleted) are left out, as images nobody is on."""

    @extend_schema(parameters=[PresenceQuerySerializer], responses={200: PresenceSerializer, **errors(400)})
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        query = valid(PresenceQuerySerializer, request.query_params)
        wanted = {int(part) for part in query["item_ids"].split(",")}
        on = assignments.others_on(assignments.job_item_ids(job, wanted), request.user)
        answer = Response({"items": [{"id": item_id, "people": on[item_id]} for item_id in sorted(on)]})
        add_never_cache_headers(answer)  # who is on an image changes by the second
        return answer


class JobNext(APIView):
    """It answers which image to open, and holds that image for the asker a minute (until their page
    opens it), so that two people asking at once are sent to different images; with `join` it holds
    nothing. It changes no item, assignment or event: a GET, as a click on "Start" is safe to repeat."""

    @extend_schema(
        parameters=[NextSerializer],
        responses={
            200: NextResultSerializer,
            **errors(400, 403, texts={404: "nothing_to_do: no image waits"}),
        },
    )
    def get(self, request: Request, job_id: int) -> Response:
        job, role = job_for(request.user, job_id)
        query = valid(NextSerializer, request.query_params)
        work = query["for"]
        assignments.work_require(role, work, job.pk)
        answer = Response(assignments.next_item(job=job, user=request.user, work=work, join=query["join"]))
        add_never_cache_headers(answer)  # each ask holds an image: no cache may answer it instead
        return answer
