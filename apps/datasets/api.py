"""Datasets over REST: list (those the user created or whose jobs they are in; staff see all) and create
(staff)."""

from __future__ import annotations

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import body, errors
from apps.common.errors import ApiError

from .models import Dataset


class DatasetSerializer(serializers.ModelSerializer):
    image_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "description", "created_at", "image_count"]
        read_only_fields = ["created_at"]


class DatasetList(APIView):
    @extend_schema(responses={200: DatasetSerializer(many=True)})
    def get(self, request: Request) -> Response:
        datasets = Dataset.objects.annotate(image_count=Count("images", distinct=True))
        if not request.user.is_staff:
            # One's own datasets, and those under one's jobs whatever the role (a member sees their images).
            datasets = datasets.filter(
                Q(created_by=request.user) | Q(jobs__memberships__user=request.user)
            ).distinct()
        return Response(DatasetSerializer(datasets, many=True).data)

    @extend_schema(
        request=DatasetSerializer,
        responses={
            201: DatasetSerializer,
            **errors(texts={400: "invalid input (code invalid_request)", 403: "only staff create datasets"}),
        },
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_staff:
            raise ApiError(403, "permission_denied", "Only staff create datasets.")
        serializer = DatasetSerializer(data=body(request))
        serializer.is_valid(raise_exception=True)
        dataset = serializer.save(created_by=request.user)
        dataset.image_count = 0
        return Response(DatasetSerializer(dataset).data, status=201)
