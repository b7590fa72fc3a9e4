"""Add data over REST: start an import into a dataset (managers of a job over it, or staff), read history.

These views live with the labeling API because who may import is a matter of job roles.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import errors, valid
from apps.common.errors import ApiError
from apps.common.parsers import UPLOAD_PARSERS
from apps.datasets.imports import dataset_import_start
from apps.datasets.models import DataImport, Dataset

from ..models import JobMember, LabelingJob, Role


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
            "format",
            "job_id",
            "status",
            "total",
            "processed",
            "added",
            "duplicates",
            "failed",
            "objects_added",
            "objects_refused",
            "errors",
            "started_at",
            "finished_at",
        ]


class ImportStartSerializer(serializers.Serializer):
    path = serializers.CharField(
        required=False,
        max_length=1024,
        help_text="a folder below the import root (POLYLOG_IMPORT_ROOT, the server share), as a relative path",
    )
    labeled = serializers.BooleanField(required=False, default=False)
    format = serializers.ChoiceField(
        choices=["coco", "labelme", "cvat"],
        required=False,
        help_text="a labeled import: the format of its annotation files (COCO instances JSON, LabelMe JSON "
        "per image, or CVAT for images 1.1 XML)",
    )
    job = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="a labeled import: the job over this dataset whose items get the labels",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "format" in data:
            data["labeled"] = True
            if "job" not in data:
                raise serializers.ValidationError(
                    {"job": "A labeled import names the job that gets the labels."}
                )
        elif "job" in data:
            raise serializers.ValidationError({"format": "A labeled import names the format of its files."})
        return data


def _labeled_job(user: Any, dataset: Dataset, job_id: int | None) -> None:
    """A labeled import writes on a job: it must be over the dataset, and the importer one of its managers."""
    if job_id is None:
        return
    job = LabelingJob.objects.filter(pk=job_id, dataset=dataset).first()
    if job is None:
        raise ApiError(400, "invalid_request", f"Job {job_id} is not a job over dataset {dataset.pk}.")
    if not user.is_staff and not JobMember.objects.filter(job=job, user=user, role=Role.MANAGER).exists():
        raise ApiError(403, "permission_denied", "Only managers of the job may import labels into it.")


def _role_on_dataset(user: Any, dataset: Dataset) -> str | None:
    """Staff and the dataset's creator manage it; otherwise the highest role in a job over it."""
    if user.is_staff or dataset.created_by_id == user.pk:
        return Role.MANAGER
    roles = set(JobMember.objects.filter(job__dataset=dataset, user=user).values_list("role", flat=True))
    for role in (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER, Role.AUDITOR):
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


# What the refusals of these views mean (the general sentences of apps.common.api say less).
IMPORT_REFUSALS = {
    400: "invalid input (code invalid_request, malformed_json, too_many_files or path_outside_storage)",
    403: "only the dataset's creator and managers of a job over it add data (and labels: managers of the job)",
    404: "no such dataset or import, or not a member of a job over its dataset (also: an unknown ?format=)",
    413: "a file to import is too large (code file_too_large)",
}


class DatasetImports(APIView):
    parser_classes = UPLOAD_PARSERS  # files as multipart, or a path as JSON

    @extend_schema(
        responses={200: DataImportSerializer(many=True), **errors(texts={404: IMPORT_REFUSALS[404]})}
    )
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
        responses={202: DataImportSerializer, **errors(texts=IMPORT_REFUSALS)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = _dataset_for(request.user, dataset_id, manage=True)
        uploads = request.FILES.getlist("files")
        data = request.data if isinstance(request.data, dict) else None
        if uploads:
            data = {k: v for k, v in request.data.items() if k != "files"}
        options = valid(ImportStartSerializer, data)
        _labeled_job(request.user, dataset, options.get("job"))
        common = {
            "dataset": dataset,
            "actor": request.user,
            "labeled": options["labeled"],
            "format": options.get("format", ""),
            "job_id": options.get("job"),
        }
        if uploads:
            if len(uploads) > settings.POLYLOG["MAX_UPLOAD_FILES"]:
                raise ApiError(
                    400, "too_many_files", f"At most {settings.POLYLOG['MAX_UPLOAD_FILES']} files per upload."
                )
            if "path" in options:
                raise ApiError(
                    400, "invalid_request", "Send files to upload, or a path in storage, not both."
                )
            limit = settings.POLYLOG["MAX_IMPORT_FILE_BYTES"]
            too_large = [f"{f.name[:100]} ({f.size} bytes)" for f in uploads if f.size > limit]
            if too_large:
                # Refused before anything is read or stored: the upload is all or nothing.
                raise ApiError(
                    413,
                    "file_too_large",
                    f"A file to import is at most {limit} bytes: {', '.join(too_large[:5])}"
                    + (f" and {len(too_large) - 5} more." if len(too_large) > 5 else "."),
                )
            record = dataset_import_start(uploads=[(f.name, f.read()) for f in uploads], **common)
        else:
            if "path" not in options:
                raise ApiError(
                    400,
                    "invalid_request",
                    "Send files (multipart, field 'files') or a 'path' below the import folder.",
                )
            record = dataset_import_start(path=options["path"], **common)
        return Response(DataImportSerializer(record).data, status=202)


class ImportDetail(APIView):
    @extend_schema(responses={200: DataImportSerializer, **errors(texts={404: IMPORT_REFUSALS[404]})})
    def get(self, request: Request, import_id: int) -> Response:
        record = DataImport.objects.filter(pk=import_id).select_related("actor", "dataset").first()
        # One answer for a missing import and one of a dataset the user is in none of the jobs of: telling
        # them apart would reveal which ids exist, and naming the dataset would reveal which it is.
        if record is None or _role_on_dataset(request.user, record.dataset) is None:
            raise ApiError(
                404, "not_found", f"There is no import {import_id} here, or you are in none of its jobs."
            )
        return Response(DataImportSerializer(record).data)
