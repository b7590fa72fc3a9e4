"""REST views of ground truth (docs/api.md "Ground truth"): every member reads the report; managers mark
accepted images as ground truth and offer copies of them to annotators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import body, errors, valid
from apps.common.errors import ApiError
from apps.labeling.models import JobMember, Role
from apps.labeling.permissions import MANAGE, job_for

from .ground_truth import copy_offer, truth_mark, truth_report


class TruthMarkSerializer(serializers.Serializer):
    item_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=1000
    )


class CopyOfferSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="a ground-truth item")
    annotator = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        help_text="the user id of a member who labels (annotator or manager)",
    )


class _ConfusionSerializer(serializers.Serializer):
    truth_label_id = serializers.IntegerField()
    truth_label = serializers.CharField()
    their_label_id = serializers.IntegerField()
    their_label = serializers.CharField()
    objects = serializers.IntegerField()


class _CopyResultSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    truth_item_id = serializers.IntegerField()
    seq = serializers.IntegerField(help_text="the copy's save compared")
    matched = serializers.IntegerField()
    mean_iou = serializers.FloatField(allow_null=True)
    missed = serializers.IntegerField()
    extra = serializers.IntegerField()
    replay_url = serializers.CharField()


class _AnnotatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    images = _CopyResultSerializer(many=True)
    truth_objects = serializers.IntegerField()
    matched = serializers.IntegerField()
    mean_iou = serializers.FloatField(allow_null=True, help_text="over the matched objects")
    missed = serializers.IntegerField()
    extra = serializers.IntegerField()
    confusions = _ConfusionSerializer(many=True)


class _TruthSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    seq = serializers.IntegerField()
    image = serializers.CharField()
    marked_by = serializers.IntegerField(allow_null=True)


class _PendingSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    truth_item_id = serializers.IntegerField()
    annotator = serializers.IntegerField(allow_null=True)


class TruthReportSerializer(serializers.Serializer):
    match_iou = serializers.FloatField()
    truths = _TruthSerializer(many=True)
    pending = _PendingSerializer(many=True)
    annotators = _AnnotatorSerializer(many=True)


class GroundTruthView(APIView):
    @extend_schema(
        responses={200: TruthReportSerializer},
        description="The job's ground-truth images, the copies not yet labeled, and per annotator the"
        " comparison of their labeled copies with the truth (docs/review.md, Ground truth).",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        return Response(truth_report(job.pk))

    @extend_schema(
        request=TruthMarkSerializer,
        responses={200: TruthReportSerializer, **errors(400, 403)},
        description="Mark accepted images as ground truth (managers), all or none.",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id, MANAGE)
        data = valid(TruthMarkSerializer, body(request))
        truth_mark(job=job, item_ids=data["item_ids"], actor=request.user)
        return Response(truth_report(job.pk))


class GroundTruthCopies(APIView):
    @extend_schema(
        request=CopyOfferSerializer,
        responses={201: CopyOfferSerializer, **errors(400, 403)},
        description="Offer an annotator a copy of a ground-truth image: a new item of the job assigned to"
        " them, like any other image (managers).",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id, MANAGE)
        data = valid(CopyOfferSerializer, body(request))
        member = (
            JobMember.objects.filter(
                job=job, user_id=data["annotator"], role__in=[Role.ANNOTATOR, Role.MANAGER]
            )
            .select_related("user")
            .first()
        )
        if member is None:
            raise ApiError(400, "not_annotator", f"User {data['annotator']} does not label in this job.")
        item = copy_offer(job=job, truth_item_id=data["item_id"], annotator=member.user, by=request.user)
        return Response({"item_id": item.pk, "annotator": member.user_id}, status=201)
