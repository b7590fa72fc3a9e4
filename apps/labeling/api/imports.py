"""Add data over REST: start an import into a dataset (managers of a job over it, or staff), read history.

These views live with the labeling API because who may import is a matter of job roles.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.errors import ApiError
from apps.datasets.imports import dataset_import_start
from apps.datasets.models import DataImport, Dataset

from ..models import JobMember, Role
from .serializers import ErrorSerializer

MAX_UPLOAD_FILES = 1000


class DataImportSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = DataImport
        fields = [
            "id",
            "dataset",
            "actor",
            "actor_name",
            "created_at",
            "source",
            "path",
            "labeled",
            "status",
            "total",
            "processed",
            "added",
            "duplicates",
            "failed",
            "errors",
            "started_at",
            "finished_at",
        ]


class ImportStartSerializer(serializers.Serializer):
    path = serializers.CharField(
        required=False, max_length=1024, help_text="a folder or bucket prefix in storage"
    )
    labeled = serializers.BooleanField(required=False, default=False)


def _role_on_dataset(user: Any, dataset: Dataset) -> str | None:
    """Staff and the dataset's creator manage it; otherwise the highest role in a job over it."""
    if user.is_staff or dataset.created_by_id == user.pk:
        return Role.MANAGER
    roles = set(JobMember.objects.filter(job__dataset=dataset, user=user).values_list("role", flat=True))
    for role in (Role.MANAGER, Role.ANNOTATOR, Role.AUDITOR):
        if role in roles:
            return role
    return None


def _dataset_for(user: Any, dataset_id: int, *, manage: bool) -> Dataset:
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    role = None if dataset is None else _role_on_dataset(user, dataset)
    if dataset is None or role is None:
        raise ApiError(
            404, "not_found", f"There is no dataset {dataset_id} here, or you are in none of its jobs."
        )
    if manage and role != Role.MANAGER:
        raise ApiError(
            403, "permission_denied", "Only the dataset's creator and managers of a job over it may add data."
        )
    return dataset


def _errors(*codes: int) -> dict[int, Any]:
    return {code: OpenApiResponse(ErrorSerializer) for code in (401, 404, *codes)}


class DatasetImports(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses={200: DataImportSerializer(many=True), **_errors()})
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = _dataset_for(request.user, dataset_id, manage=False)
        history = DataImport.objects.filter(dataset=dataset).select_related("actor")
        return Response(DataImportSerializer(history, many=True).data)

    @extend_schema(
        request={
            "application/json": ImportStartSerializer,
            "multipart/form-data": {
                "type": "object",
                "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
            },
        },
        responses={202: DataImportSerializer, **_errors(400, 403)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = _dataset_for(request.user, dataset_id, manage=True)
        uploads = request.FILES.getlist("files")
        if uploads:
            if len(uploads) > MAX_UPLOAD_FILES:
                raise ApiError(400, "invalid_request", f"At most {MAX_UPLOAD_FILES} files per upload.")
            labeled = str(request.data.get("labeled", "false")).lower() in {"1", "true", "yes", "on"}
            record = dataset_import_start(
                dataset=dataset,
                actor=request.user,
                uploads=[(f.name, f.read()) for f in uploads],
                labeled=labeled,
            )
        else:
            data = request.data if isinstance(request.data, dict) else None
            serializer = ImportStartSerializer(data=data)
            serializer.is_valid(raise_exception=True)
            if "path" not in serializer.validated_data:
                raise ApiError(
                    400, "invalid_request", "Send files (multipart, field 'files') or a 'path' in storage."
                )
            record = dataset_import_start(
                dataset=dataset,
                actor=request.user,
                path=serializer.validated_data["path"],
                labeled=serializer.validated_data["labeled"],
            )
        return Response(DataImportSerializer(record).data, status=202)


class ImportDetail(APIView):
    @extend_schema(responses={200: DataImportSerializer, **_errors()})
    def get(self, request: Request, import_id: int) -> Response:
        record = DataImport.objects.filter(pk=import_id).select_related("actor").first()
        if record is None:
            raise ApiError(404, "not_found", f"There is no import {import_id}.")
        _dataset_for(request.user, record.dataset_id, manage=False)
        return Response(DataImportSerializer(record).data)
